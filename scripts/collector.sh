#!/usr/bin/env bash
# Builds the test OpenTelemetry Collector (tests/collector/builder-config.yaml)
# once into $DENOPROF_CACHE/otelcol-<version>/ and installs profcheck next to
# it. Idempotent: a second run only prints the paths.
#
#   scripts/collector.sh            # prints the Collector binary path
#   scripts/collector.sh profcheck  # prints the profcheck binary path
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${DENOPROF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/denoprof}"
# Keep in step with dist.version and the component versions in the builder config.
COLLECTOR_VERSION="0.159.0"
# profcheck has no tags: pin a pseudo-version of sig-profiling commit
# 741ed93c4d95 (2026-08-20; proto v1.11.0, -check-dupes and -check-orphans).
# The module proxy on the project machines refuses every profcheck zip (403);
# there, set PROFCHECK_SRC to a local checkout of the profcheck folder.
PROFCHECK_VERSION="v0.0.0-20260820050030-741ed93c4d95"

export PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null; then
  # A fresh machine may have no Go: use the Go 1.26 that go-toolchains.sh
  # unpacks from Debian's archive into the cache.
  "$ROOT/scripts/go-toolchains.sh" 1.26 >/dev/null
  export GOROOT="$CACHE/go/go1.26/usr/lib/go-1.26" GOTOOLCHAIN=local
  export PATH="$GOROOT/bin:$PATH"
fi
command -v go >/dev/null || { echo "collector.sh: go not found (need Go >= 1.25)" >&2; exit 1; }

dir="$CACHE/otelcol-$COLLECTOR_VERSION"
bin="$dir/otelcol-denoprof"
profcheck="$dir/profcheck"
config="$ROOT/tests/collector/builder-config.yaml"
stamp="$dir/builder-config.sha256"
want_stamp="$(sha256sum "$config" | cut -d' ' -f1)"

build_collector() {
  mkdir -p "$dir/src"
  if [[ ! -x "$dir/builder" ]]; then
    echo "collector.sh: installing builder v$COLLECTOR_VERSION" >&2
    GOBIN="$dir" go install "go.opentelemetry.io/collector/cmd/builder@v$COLLECTOR_VERSION"
  fi
  echo "collector.sh: building otelcol-denoprof v$COLLECTOR_VERSION into $dir (takes minutes)" >&2
  # The builder resolves output_path relative to the working directory.
  (cd "$dir/src" && "$dir/builder" --config="$config" >"$dir/build.log" 2>&1) || {
    tail -30 "$dir/build.log" >&2
    exit 1
  }
  cp "$dir/src/otelcol-denoprof/otelcol-denoprof" "$bin.tmp" && mv "$bin.tmp" "$bin"
  echo "$want_stamp" >"$stamp"
}

if [[ ! -x "$bin" || "$(cat "$stamp" 2>/dev/null)" != "$want_stamp" ]]; then
  build_collector
fi
install_profcheck() {
  if [[ -n "${PROFCHECK_SRC:-}" ]]; then
    # A local checkout of sig-profiling's profcheck module (the folder with its
    # go.mod); its dependencies still come from the module proxy.
    echo "collector.sh: building profcheck from $PROFCHECK_SRC" >&2
    (cd "$PROFCHECK_SRC" && go build -o "$profcheck" ./cmd/profcheck)
    return
  fi
  echo "collector.sh: installing profcheck $PROFCHECK_VERSION" >&2
  # Not `go install …/cmd/profcheck@V`: that asks the proxy for a module
  # named …/cmd/profcheck first, and a 403 there is fatal. Build from a
  # scratch module that requires profcheck instead.
  local work rc=0
  work="$(mktemp -d)"
  (
    cd "$work"
    go mod init denoprof-profcheck >/dev/null 2>&1
    go get "github.com/open-telemetry/sig-profiling/profcheck@$PROFCHECK_VERSION"
    go build -o "$profcheck" github.com/open-telemetry/sig-profiling/profcheck/cmd/profcheck
  ) || rc=$?
  rm -rf "$work"
  return $rc
}

if [[ ! -x "$profcheck" ]] && ! install_profcheck; then
  echo "collector.sh: cannot install profcheck: the Go module proxy refuses" \
    "github.com/open-telemetry/sig-profiling/profcheck (403 \"This module version" \
    "is not available\"). Set PROFCHECK_SRC to a local checkout to build it." \
    "Until then the profcheck test is skipped and tests/otlp_conformance.ts" \
    "checks every otlp-file output." >&2
  [[ "${1:-}" == "profcheck" ]] && exit 1
fi

if [[ "${1:-}" == "profcheck" ]]; then echo "$profcheck"; else echo "$bin"; fi
