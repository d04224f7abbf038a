#!/usr/bin/env bash
# The full Temporal server on PostgreSQL (what production runs), without Docker, in place of the dev server.
#   bash scripts/temporal-server.sh [setup|start]
#     setup   build the server, its schema tool and the Web UI into .tools (once), create and migrate the databases
#     start   run the server and the Web UI in the foreground, create the namespace and Tocsin's search attributes
#     (none)  both
# Then point Tocsin at it: TEMPORAL_ADDRESS=127.0.0.1:7233 npm start
# Environment (defaults in brackets): TEMPORAL_DB_HOST [127.0.0.1], TEMPORAL_DB_PORT [5432], TEMPORAL_DB_USER [postgres],
# TEMPORAL_DB_PASSWORD [none], TEMPORAL_DB [temporal], TEMPORAL_VISIBILITY_DB [temporal_visibility],
# TEMPORAL_SERVER_PORT [7233], TEMPORAL_UI_PORT [8233], TEMPORAL_NAMESPACE [default], TEMPORAL_NUM_HISTORY_SHARDS [4],
# TEMPORAL_LOG_LEVEL [warn]. The server template's own variables (SQL_MAX_CONNS, SQL_VIS_MAX_CONNS,
# PROMETHEUS_ENDPOINT, ...) pass through.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

TEMPORAL_SERVER_VERSION=v1.31.2
TEMPORAL_UI_VERSION=v2.53.1

DB_HOST=${TEMPORAL_DB_HOST:-127.0.0.1}
DB_PORT=${TEMPORAL_DB_PORT:-5432}
DB_USER=${TEMPORAL_DB_USER:-postgres}
DB_PASSWORD=${TEMPORAL_DB_PASSWORD:-}
DB_NAME=${TEMPORAL_DB:-temporal}
VISIBILITY_DB_NAME=${TEMPORAL_VISIBILITY_DB:-temporal_visibility}
SERVER_PORT=${TEMPORAL_SERVER_PORT:-7233}
UI_PORT=${TEMPORAL_UI_PORT:-8233}
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
# Stored when the server first starts on fresh databases; a different value later is ignored (with a warning).
NUM_HISTORY_SHARDS=${TEMPORAL_NUM_HISTORY_SHARDS:-4}
# The server's other listeners (frontend HTTP, internal services, membership). Their defaults clash between two
# servers on one machine, so they follow the gRPC port unless set: 7233 gives the stock 7243, 7234/7235/7239, 6933-6939.
FRONTEND_HTTP_PORT=${TEMPORAL_FRONTEND_HTTP_PORT:-$((SERVER_PORT + 10))}
HISTORY_PORT=${TEMPORAL_HISTORY_PORT:-$((SERVER_PORT + 1))}
MATCHING_PORT=${TEMPORAL_MATCHING_PORT:-$((SERVER_PORT + 2))}
WORKER_PORT=${TEMPORAL_WORKER_PORT:-$((SERVER_PORT + 6))}
MEMBERSHIP_PORT_BASE=${TEMPORAL_MEMBERSHIP_PORT_BASE:-$((SERVER_PORT - 300))}

STATE_DIR="$ROOT/.data/temporal-server"
SERVER_BIN="$ROOT/.tools/server/server"
SQL_BIN="$ROOT/.tools/server/sql"
UI_BIN="$ROOT/.tools/ui/server"

# One-time builds; a stamp file records the versions, so that a version bump here rebuilds.
build_tools() {
  local stamp="$ROOT/.tools/server/versions" want="server $TEMPORAL_SERVER_VERSION ui $TEMPORAL_UI_VERSION"
  if [ -x "$SERVER_BIN" ] && [ -x "$SQL_BIN" ] && [ -x "$UI_BIN" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return; fi
  command -v go >/dev/null 2>&1 || { log "no Temporal server in .tools and no Go toolchain to build one"; exit 1; }
  local started=$SECONDS
  log "building the Temporal server and schema tool $TEMPORAL_SERVER_VERSION into .tools/server; this takes several minutes, once"
  CGO_ENABLED=0 GOBIN="$ROOT/.tools/server" go install \
    "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
  log "Temporal server built in $((SECONDS - started)) s"
  started=$SECONDS
  # The UI binary is also named `server`, hence a folder of its own.
  log "building the Temporal Web UI server $TEMPORAL_UI_VERSION into .tools/ui"
  CGO_ENABLED=0 GOBIN="$ROOT/.tools/ui" go install "github.com/temporalio/ui-server/v2/cmd/server@$TEMPORAL_UI_VERSION"
  log "Temporal Web UI built in $((SECONDS - started)) s"
  echo "$want" > "$stamp"
}

# The schema tool logs every statement: its output is shown only when it fails.
sql_tool() {
  local out
  if ! out=$(SQL_PASSWORD="$DB_PASSWORD" "$SQL_BIN" --plugin postgres12 --ep "$DB_HOST" -p "$DB_PORT" -u "$DB_USER" "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    log "the schema tool failed: sql $*"
    exit 1
  fi
}

# Creates the two databases if missing (`create` is a no-op on an existing one) and applies pending schema versions:
# all of them on a fresh database, those of a newer server after an upgrade. The schemas are embedded in the tool.
migrate_databases() {
  local db schema
  for pair in "$DB_NAME:temporal" "$VISIBILITY_DB_NAME:visibility"; do
    db=${pair%%:*} schema=${pair#*:}
    sql_tool --db "$db" create
    # -v 0.0 only creates the version tables on a fresh database; a versioned one is left as it is.
    sql_tool --db "$db" setup-schema -v 0.0
    sql_tool --db "$db" update-schema --schema-name "postgresql/v12/$schema"
    log "database $db: schema version $(schema_version "$db")"
  done
}

schema_version() {
  PGPASSWORD="$DB_PASSWORD" psql -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$1" -tAc 'select curr_version from schema_version' 2>/dev/null ||
    echo "unknown"
}

# The server refuses to start without a dynamic config file.
write_dynamic_config() {
  mkdir -p "$STATE_DIR"
  cat > "$STATE_DIR/dynamicconfig.yaml" <<'EOF'
# Written by scripts/temporal-server.sh; edits are overwritten on the next start.
# SQL visibility stores workflow IDs in VARCHAR(255) columns: refuse longer IDs at the API.
limit.maxIDLength:
  - value: 255
# As the dev server runs in scripts/dev.sh: activities may start on the worker that scheduled them (off by default).
system.enableActivityEagerExecution:
  - value: true
EOF
}

start_servers() {
  local port
  for port in "$SERVER_PORT" "$FRONTEND_HTTP_PORT" "$HISTORY_PORT" "$MATCHING_PORT" "$WORKER_PORT" \
    "$MEMBERSHIP_PORT_BASE" "$((MEMBERSHIP_PORT_BASE + 1))" "$((MEMBERSHIP_PORT_BASE + 2))" "$((MEMBERSHIP_PORT_BASE + 6))" "$UI_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then log "port $port is taken; move the server with TEMPORAL_SERVER_PORT, the UI with TEMPORAL_UI_PORT"; exit 1; fi
  done
  write_dynamic_config
  local ui_dir="$STATE_DIR/ui-$UI_PORT"
  mkdir -p "$ui_dir"
  cat > "$ui_dir/development.yaml" <<EOF
temporalGrpcAddress: 127.0.0.1:$SERVER_PORT
host: 127.0.0.1
port: $UI_PORT
enableUi: true
disableNewsFetch: true
cors:
  cookieInsecure: true
EOF

  local pids=() started=$SECONDS
  stop() {
    trap - INT TERM
    log "stopping the Web UI, then the Temporal server"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    log "stopped"
    exit "${1:-0}"
  }
  trap 'stop 0' INT TERM

  log "starting the Temporal server $TEMPORAL_SERVER_VERSION on 127.0.0.1:$SERVER_PORT (databases $DB_NAME, $VISIBILITY_DB_NAME on $DB_HOST:$DB_PORT)"
  # No config file: the server fills its embedded template from these variables. Setting TEMPORAL_ENVIRONMENT
  # or similar would switch it to a config folder instead.
  supervise "Temporal server" env \
    DB=postgres12 POSTGRES_SEEDS="$DB_HOST" DB_PORT="$DB_PORT" POSTGRES_USER="$DB_USER" POSTGRES_PWD="$DB_PASSWORD" \
    DBNAME="$DB_NAME" VISIBILITY_DBNAME="$VISIBILITY_DB_NAME" BIND_ON_IP=127.0.0.1 \
    FRONTEND_GRPC_PORT="$SERVER_PORT" FRONTEND_HTTP_PORT="$FRONTEND_HTTP_PORT" \
    HISTORY_GRPC_PORT="$HISTORY_PORT" MATCHING_GRPC_PORT="$MATCHING_PORT" WORKER_GRPC_PORT="$WORKER_PORT" \
    FRONTEND_MEMBERSHIP_PORT="$((MEMBERSHIP_PORT_BASE + 0))" HISTORY_MEMBERSHIP_PORT="$((MEMBERSHIP_PORT_BASE + 1))" \
    MATCHING_MEMBERSHIP_PORT="$((MEMBERSHIP_PORT_BASE + 2))" WORKER_MEMBERSHIP_PORT="$((MEMBERSHIP_PORT_BASE + 6))" \
    NUM_HISTORY_SHARDS="$NUM_HISTORY_SHARDS" \
    DYNAMIC_CONFIG_FILE_PATH="$STATE_DIR/dynamicconfig.yaml" TEMPORAL_VERSION_CHECK_DISABLED=1 \
    LOG_LEVEL="${TEMPORAL_LOG_LEVEL:-warn}" \
    "$SERVER_BIN" start &
  pids=($! "${pids[@]}")
  wait_for_port "$SERVER_PORT" "Temporal server" 240 || stop 1
  log "Temporal frontend up in $((SECONDS - started)) s"

  supervise "Temporal Web UI" "$UI_BIN" --root "$ui_dir" --config . --env development start &
  pids=($! "${pids[@]}")

  # The full server does not create a namespace; `temporal setup` does, then registers the search attributes.
  ensure_node_modules
  TEMPORAL_ADDRESS="127.0.0.1:$SERVER_PORT" TEMPORAL_NAMESPACE="$NAMESPACE" ./node_modules/.bin/tsx apps/cli/main.ts temporal setup || stop 1
  wait_for_port "$UI_PORT" "Temporal Web UI" 60 || stop 1

  log "Temporal gRPC: 127.0.0.1:$SERVER_PORT   (namespace $NAMESPACE)"
  log "Temporal UI:   http://localhost:$UI_PORT"
  log "ready in $((SECONDS - started)) s; run Tocsin with TEMPORAL_ADDRESS=127.0.0.1:$SERVER_PORT npm start; Ctrl-C stops the server"
  # A supervisor ends on its own only when it gave up on a process that keeps crashing: then stop everything.
  while :; do
    if wait -n "${pids[@]}"; then continue; fi
    log "a supervised process could not be kept running; stopping everything"
    stop 1
  done
}

command=${1:-all}
case "$command" in
  setup | start | all) ;;
  *) log "usage: bash scripts/temporal-server.sh [setup|start]"; exit 2 ;;
esac
# ensure_postgres knows only the local cluster; a remote one is the operator's to run.
if [ "$DB_HOST:$DB_PORT" = "127.0.0.1:5432" ]; then ensure_postgres; fi
if [ "$command" != start ]; then
  build_tools
  migrate_databases
fi
if [ "$command" != setup ]; then
  [ -x "$SERVER_BIN" ] || { log "no Temporal server in .tools/server; run: bash scripts/temporal-server.sh setup"; exit 1; }
  start_servers
fi
