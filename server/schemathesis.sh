#!/usr/bin/env bash
# Runs schemathesis (from PyPI, installed into a venv under target/) against a freshly seeded
# kidplan-server on a loopback port, once as a guardian and once as staff, with a bounded
# number of examples. Exits non-zero if any request got a 5xx.
#
#   server/schemathesis.sh            # MAX_EXAMPLES=20, PORT=18089, TIME=600 s at most per run
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/target/schemathesis-venv"
PORT="${PORT:-18089}"
MAX_EXAMPLES="${MAX_EXAMPLES:-20}"
TIME="${TIME:-600}"
BASE="http://127.0.0.1:$PORT"

if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis>=4,<5"
fi

# KIDPLAN_PREBUILT=1: scripts/test-all already built the workspace (same binary, no rebuild).
[ -n "${KIDPLAN_PREBUILT:-}" ] || cargo build --quiet -p kidplan-server --manifest-path "$ROOT/Cargo.toml"
BIN="$ROOT/target/debug/kidplan-server"
DATA="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$DATA"
}
trap cleanup EXIT

RUST_LOG=info "$BIN" serve --data-dir "$DATA" --bind "127.0.0.1:$PORT" --seed-demo >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "$BASE/v1/openapi.json" >/dev/null 2>&1 && break
    sleep 0.1
done

token() { "$BIN" token --db "$DATA/kidplan.db" --contact "$1" --ttl-s 3600; }
GUARDIAN="$(token kari.nordmann@example.org)"
STAFF="$(token randi.solberg@example.org)"

status=0
run() {
    local who="$1" tok="$2"; shift 2
    echo "== schemathesis as $who"
    timeout "$TIME" "$VENV/bin/schemathesis" run "$BASE/v1/openapi.json" \
        --checks not_a_server_error --max-examples "$MAX_EXAMPLES" \
        --workers 2 --seed 4242 --no-color -H "Authorization: Bearer $tok" "$@" || status=1
}
# Logout would end the session half-way through, and schemathesis has no serializer for an
# application/pdf body: both are covered by server/tests instead.
run guardian "$GUARDIAN" --exclude-path /v1/auth/logout --exclude-path /v1/staff/documents
run staff "$STAFF" --include-path-regex '^/v1/staff/' --exclude-path /v1/staff/documents

server_errors="$(grep -c 'status=5[0-9][0-9]' "$DATA/server.log" || true)"
echo "server log: $server_errors answers with a 5xx status"
if [ "$server_errors" != "0" ]; then
    grep 'status=5[0-9][0-9]' "$DATA/server.log" | head -20
    status=1
fi
exit "$status"
