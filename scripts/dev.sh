#!/usr/bin/env bash
# The run command: installs what is missing, then runs Temporal (dev server + Web UI), the worker and the API.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_node_modules
ensure_postgres
export PORT="${PORT:-8080}"
# Pages carry signed acknowledge/resolve/silence links; a trial run gets a secret of its own, kept across restarts.
if [ -z "${TOCSIN_LINK_SECRET:-}" ]; then
  mkdir -p .data
  [ -s .data/link-secret ] || (umask 077 && node -e "process.stdout.write(require('crypto').randomBytes(32).toString('base64url'))" > .data/link-secret)
  TOCSIN_LINK_SECRET="$(cat .data/link-secret)"
  export TOCSIN_LINK_SECRET
fi
./node_modules/.bin/tsx apps/cli/main.ts db migrate

# Each process runs under a supervisor (scripts/lib.sh) that restarts it with backoff when it crashes and says so;
# children run in their own sessions so that Ctrl-C reaches only this script, which stops them in order.
pids=()
stop() {
  local code=${1:-0}
  trap - INT TERM
  log "stopping: API, then worker (drains in-flight work), then Temporal"
  # In order (API, worker, Temporal), each given time to finish before the next one goes.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  log "stopped"
  exit "$code"
}
trap 'stop 0' INT TERM

if [ -z "${TEMPORAL_ADDRESS:-}" ]; then
  ensure_temporal_cli
  mkdir -p .data
  log "starting the Temporal dev server (state in .data/temporal.db)"
  sa_flags=()
  for sa in AlertGroupId AlertGroupState OrganizationId EscalationChainId TeamId; do sa_flags+=(--search-attribute "$sa=Keyword"); done
  supervise "Temporal" "$TEMPORAL_CLI_PATH" server start-dev --db-filename .data/temporal.db --ip 127.0.0.1 --port 7233 --ui-port 8233 \
    --log-level warn --dynamic-config-value frontend.enableServerVersionCheck=false \
    --dynamic-config-value system.enableActivityEagerExecution=true \
    --dynamic-config-value system.forceSearchAttributesCacheRefreshOnRead=false "${sa_flags[@]}" &
  pids=($! "${pids[@]}")
  wait_for_port 7233 "Temporal" 120
  export TEMPORAL_ADDRESS=127.0.0.1:7233
  temporal_ui="http://localhost:8233"
else
  temporal_ui="(your Temporal's UI)"
fi
./node_modules/.bin/tsx apps/cli/main.ts temporal setup

# One node process each (no tsx wrapper), so that signals and exit statuses are the service's own.
supervise "worker" node --import tsx apps/worker/main.ts &
pids=($! "${pids[@]}")
supervise "API" node --import tsx apps/api/main.ts &
pids=($! "${pids[@]}")

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
curl -sS "http://127.0.0.1:$PORT/health"; echo
log "API:           http://localhost:$PORT/api/v1/   (health: http://localhost:$PORT/health, /health/live, /health/ready)"
log "worker health: http://localhost:${TOCSIN_WORKER_HEALTH_PORT:-8081}/health/ready"
log "Temporal UI:   $temporal_ui"
log "Temporal gRPC: $TEMPORAL_ADDRESS"
log "ready: Tocsin is running; Ctrl-C stops everything"
# A supervisor ends on its own only when it gave up on a process that keeps crashing: then stop everything.
while :; do
  if wait -n "${pids[@]}"; then continue; fi
  log "a supervised process could not be kept running; stopping everything"
  stop 1
done
