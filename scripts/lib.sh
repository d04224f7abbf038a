# Shared set-up steps of the run and test commands. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPORAL_CLI_VERSION=v1.5.1

log() { printf '[tocsin] %s\n' "$*" >&2; }

# npm ci when node_modules is missing or older than the lockfile.
ensure_node_modules() {
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=notice)
  fi
}

# Sets TEMPORAL_CLI_PATH: an existing one, `temporal` on PATH, or a one-time build into .tools/bin.
ensure_temporal_cli() {
  if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then return; fi
  if command -v temporal >/dev/null 2>&1; then TEMPORAL_CLI_PATH="$(command -v temporal)"; export TEMPORAL_CLI_PATH; return; fi
  TEMPORAL_CLI_PATH="$ROOT/.tools/bin/temporal"
  export TEMPORAL_CLI_PATH
  if [ -x "$TEMPORAL_CLI_PATH" ]; then return; fi
  command -v go >/dev/null 2>&1 || { log "no temporal binary and no Go toolchain to build one"; exit 1; }
  log "building the Temporal CLI $TEMPORAL_CLI_VERSION (dev server + Web UI) into .tools/bin; this takes a few minutes, once"
  local started=$SECONDS
  mkdir -p "$ROOT/.tools/bin"
  CGO_ENABLED=0 GOBIN="$ROOT/.tools/bin" go install -trimpath \
    -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION#v}" \
    "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
  log "Temporal CLI built in $((SECONDS - started)) s"
}

# PostgreSQL on 127.0.0.1:5432: start the local cluster if it is down, install it if it is absent.
ensure_postgres() {
  local host=127.0.0.1 port=5432
  if pg_isready -q -h "$host" -p "$port" 2>/dev/null; then return; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h "$host" -p "$port" && break; sleep 1; done
  pg_isready -q -h "$host" -p "$port" || { log "PostgreSQL did not come up on $host:$port"; exit 1; }
  # Trust auth for local TCP connections as user postgres, as the machines here are set up.
  psql -h "$host" -U postgres -c 'select 1' >/dev/null 2>&1 || {
    log "PostgreSQL is up but user postgres cannot connect over TCP without a password; set DATABASE_URL"; exit 1; }
}

# Chromium for the browser tests (driven by playwright-core): Debian's package, never a downloaded browser build.
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  log "installing Chromium from Debian's packages"
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
}

# Waits until a TCP port accepts connections.
wait_for_port() {
  local port=$1 what=$2 tries=${3:-60}
  for _ in $(seq 1 "$tries"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  log "$what did not open port $port"; return 1
}

# supervise NAME COMMAND...: runs COMMAND in a session of its own and restarts it, with backoff, whenever it ends
# without being asked to, saying so each time. A process that keeps crashing right after it starts is given up on:
# the supervisor then exits 1 (the caller stops everything). SIGTERM stops COMMAND (SIGTERM too, so it drains)
# and waits for it; Ctrl-C is for the caller, which stops the supervisors in order. Run it in the background:
# `supervise api node app.js &`.
SUPERVISE_MAX_BACKOFF=${SUPERVISE_MAX_BACKOFF:-30}
SUPERVISE_STABLE_SECONDS=${SUPERVISE_STABLE_SECONDS:-60}
SUPERVISE_MAX_QUICK_CRASHES=${SUPERVISE_MAX_QUICK_CRASHES:-10}
supervise() {
  local name=$1
  shift
  local child="" stopping=0 delay=1 quick_crashes=0 restarts=0 started status
  trap 'stopping=1; if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; fi' TERM
  # Trapped (not ignored), so that the command itself still gets the default disposition.
  trap ':' INT QUIT
  # Waits until $child has ended, whatever signal interrupts `wait`; sets status.
  reap() {
    while :; do
      status=0
      wait "$child" || status=$?
      kill -0 "$child" 2>/dev/null || return 0
    done
  }
  while :; do
    started=$SECONDS
    setsid "$@" &
    child=$!
    [ "$restarts" -gt 0 ] && log "$name restarted (pid $child, restart #$restarts)"
    reap
    [ "$stopping" = 1 ] && exit 0
    if [ $((SECONDS - started)) -ge "$SUPERVISE_STABLE_SECONDS" ]; then delay=1; quick_crashes=0; else quick_crashes=$((quick_crashes + 1)); fi
    if [ "$quick_crashes" -ge "$SUPERVISE_MAX_QUICK_CRASHES" ]; then
      log "$name exited (status $status) $quick_crashes times in a row shortly after starting; giving up on it"
      exit 1
    fi
    restarts=$((restarts + 1))
    log "$name exited unexpectedly (status $status) after $((SECONDS - started)) s; restarting it in $delay s"
    sleep "$delay" &
    child=$!
    reap
    child=""
    [ "$stopping" = 1 ] && exit 0
    delay=$((delay * 2 > SUPERVISE_MAX_BACKOFF ? SUPERVISE_MAX_BACKOFF : delay * 2))
  done
}
