#!/usr/bin/env bash
# denoprof container entrypoint: turns DENOPROF_* environment variables into
# agent flags and execs the agent (so it is the process that gets SIGTERM and
# flushes its last window). Runs the same outside a container:
#   DENOPROF_APP=/path/to/denoprof DENO=/path/to/deno deploy/entrypoint.sh --help
set -euo pipefail

APP="${DENOPROF_APP:-/app}"
DENO="${DENO:-deno}"

usage() {
  cat <<'TEXT'
denoprof container entrypoint

Environment (each optional). Arguments are passed on after the flags made from
it: a repeated --frequency or --interval wins, --pid and --exporter add up.

  DENOPROF_PIDS        comma-separated pids to profile (default: every process
                       the container sees; use hostPID: true for the node)
  DENOPROF_FREQUENCY   samples per second per CPU (agent default 19)
  DENOPROF_INTERVAL    seconds per exported window (agent default 5)
  DENOPROF_EXPORTERS   space-separated KIND:TARGET exporter specs. When unset
                       and OTEL_EXPORTER_OTLP_ENDPOINT is unset too, the
                       entrypoint exports to the Collector sidecar at
                       otlp-grpc:127.0.0.1:4317.
  DENOPROF_DRY_RUN=1   print the agent command line instead of running it
  OTEL_EXPORTER_OTLP_*, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
                       as in other OpenTelemetry tools
  DENOPROF_APP, DENO   where the sources and deno are (default /app, deno)

The agent needs root (or CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE) and the host's
/sys/kernel/btf/vmlinux. Agent options follow.

TEXT
}

args=()
for a in "$@"; do
  if [[ "$a" == "-h" || "$a" == "--help" ]]; then
    usage
    exec "$DENO" run --allow-all --cached-only "$APP/agent/main.ts" --help
  fi
done
[[ -n "${DENOPROF_PIDS:-}" ]] && args+=(--pid "$DENOPROF_PIDS")
[[ -n "${DENOPROF_FREQUENCY:-}" ]] && args+=(--frequency "$DENOPROF_FREQUENCY")
[[ -n "${DENOPROF_INTERVAL:-}" ]] && args+=(--interval "$DENOPROF_INTERVAL")
if [[ -n "${DENOPROF_EXPORTERS:-}" ]]; then
  read -r -a specs <<<"$DENOPROF_EXPORTERS"
  for s in "${specs[@]}"; do args+=(--exporter "$s"); done
elif [[ -z "${OTEL_EXPORTER_OTLP_ENDPOINT:-}${OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT:-}" ]]; then
  args+=(--exporter "otlp-grpc:127.0.0.1:4317")
fi

cmd=("$DENO" run --allow-all --cached-only "$APP/agent/main.ts" "${args[@]}" "$@")
if [[ "${DENOPROF_DRY_RUN:-}" == "1" ]]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
exec "${cmd[@]}"
