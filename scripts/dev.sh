#!/usr/bin/env bash
# The run command: installs what is missing, then runs Temporal (dev server + Web UI), the worker and the API.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_node_modules
ensure_postgres
export PORT="${PORT:-8080}"
./node_modules/.bin/tsx apps/cli/main.ts db migrate

# Children run in their own sessions so that Ctrl-C reaches only this script, which stops them in order.
pids=()
stop() {
  trap - INT TERM
  log "stopping: API, then worker (drains in-flight work), then Temporal"
  # In order (API, worker, Temporal), each given time to finish before the next one goes.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  log "stopped"
  exit 0
}
trap stop INT TERM

if [ -z "${TEMPORAL_ADDRESS:-}" ]; then
  ensure_temporal_cli
  mkdir -p .data
  log "starting the Temporal dev server (state in .data/temporal.db)"
  sa_flags=()
  for sa in AlertGroupId AlertGroupState OrganizationId EscalationChainId TeamId; do sa_flags+=(--search-attribute "$sa=Keyword"); done
  setsid "$TEMPORAL_CLI_PATH" server start-dev --db-filename .data/temporal.db --ip 127.0.0.1 --port 7233 --ui-port 8233 \
    --log-level warn --dynamic-config-value frontend.enableServerVersionCheck=false "${sa_flags[@]}" &
  pids=($! "${pids[@]}")
  wait_for_port 7233 "Temporal" 120
  export TEMPORAL_ADDRESS=127.0.0.1:7233
  temporal_ui="http://localhost:8233"
else
  temporal_ui="(your Temporal's UI)"
fi
./node_modules/.bin/tsx apps/cli/main.ts temporal setup

setsid ./node_modules/.bin/tsx apps/worker/main.ts &
pids=($! "${pids[@]}")
setsid ./node_modules/.bin/tsx apps/api/main.ts &
pids=($! "${pids[@]}")

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
curl -sS "http://127.0.0.1:$PORT/health"; echo
log "API:           http://localhost:$PORT/api/v1/   (health: http://localhost:$PORT/health)"
log "Temporal UI:   $temporal_ui"
log "Temporal gRPC: $TEMPORAL_ADDRESS"
log "ready: Tocsin is running; Ctrl-C stops everything"
wait
