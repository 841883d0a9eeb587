#!/usr/bin/env bash
# The README's two commands, runnable on a fresh Debian 12 machine that has
# only bash, Node and npm (no make, no Deno):
#
#   scripts/run.sh agent [FLAGS…]   profile with the embedded default (or FLAGS)
#   scripts/run.sh test             run every test
#
# Each installs what it needs first (scripts/setup.sh; for tests also the Go
# toolchain matrix and the test Collector), idempotently and cached under
# $DENOPROF_CACHE (default ~/.cache/denoprof).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export DENOPROF_CACHE="${DENOPROF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/denoprof}"
cmd="${1:-}"
shift || true
case "$cmd" in
  agent)
    "$ROOT/scripts/setup.sh" --runtime
    cd "$ROOT" && exec "$ROOT/.cache/bin/deno" task agent "$@"
    ;;
  test)
    "$ROOT/scripts/setup.sh"
    "$ROOT/scripts/go-toolchains.sh" >/dev/null
    "$ROOT/scripts/collector.sh" >/dev/null
    cd "$ROOT" && exec "$ROOT/.cache/bin/deno" task test "$@"
    ;;
  *)
    echo "usage: scripts/run.sh agent [agent flags…] | scripts/run.sh test" >&2
    exit 2
    ;;
esac
