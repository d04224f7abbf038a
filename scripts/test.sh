#!/usr/bin/env bash
# The test command: installs what is missing, then typecheck, lint, unit and integration tests on the real
# Temporal dev server (started by jest's global setup) and the real PostgreSQL (one database per suite).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_node_modules
ensure_temporal_cli
ensure_postgres
ensure_chromium
# The Go client test builds offline from the module cache (the Go module proxy is reached here, once).
log "Go client modules"; (cd test/go-client && go mod download)

log "typecheck"; npx tsc --noEmit -p tsconfig.json
log "lint"; npx eslint .
log "unit and integration tests"
summary="$(mktemp)"
status=0
# --forceExit: the native Temporal runtime can keep a test worker's event loop alive after its suite ends.
TOCSIN_TEST_SUMMARY_FILE="$summary" npx jest --ci --forceExit "$@" || status=$?
cat "$summary" 2>/dev/null || echo "tests: 0 passed, 1 failed (jest did not report)"
rm -f "$summary"
exit "$status"
