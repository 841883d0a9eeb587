#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine (run as root): Debian packages
# the agent and the tests need, and Deno from the npm package `deno` into the
# cache folder. Safe to run again: each step checks before it acts.
set -euo pipefail

CACHE="${DENOPROF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/denoprof}"
DENO_VERSION="2.9.6"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# Runtime needs libbpf1; tests and `make bpf` need the rest.
PACKAGES=(libbpf1 libbpf-dev clang llvm bpftool gcc make gdb linux-perf binutils libc6-dbg curl ca-certificates)
if [[ "${1:-}" == "--runtime" ]]; then PACKAGES=(libbpf1); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "denoprof setup: missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  echo "denoprof setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

deno_bin="$CACHE/deno-$DENO_VERSION/node_modules/@deno/linux-x64-glibc/deno"
if [[ "$(uname -m)" == "aarch64" ]]; then
  deno_bin="$CACHE/deno-$DENO_VERSION/node_modules/@deno/linux-arm64-glibc/deno"
fi
if [[ ! -x "$deno_bin" ]]; then
  echo "denoprof setup: installing deno $DENO_VERSION from npm into $CACHE" >&2
  mkdir -p "$CACHE/deno-$DENO_VERSION"
  # --ignore-scripts: the binary comes in the platform package; the postinstall
  # step only re-links it.
  npm install --prefix "$CACHE/deno-$DENO_VERSION" --no-save --no-package-lock \
    --ignore-scripts --no-audit --no-fund "deno@$DENO_VERSION" >/dev/null
fi
mkdir -p "$ROOT/.cache/bin"
ln -sf "$deno_bin" "$ROOT/.cache/bin/deno"

# npm dependencies pinned by deno.lock.
cd "$ROOT"
"$deno_bin" install --frozen >/dev/null 2>&1 || "$deno_bin" install --frozen
