#!/usr/bin/env bash
# Validates the server's OpenAPI document with openapi-spec-validator, then runs schemathesis
# with all of its checks (both from PyPI, installed into a venv under target/) against a freshly
# seeded kidplan-server on a loopback port, once as a guardian and once as staff, with a
# bounded number of examples. Exits non-zero on an invalid document, any failed check or any
# 5xx in the server's log.
#
#   server/schemathesis.sh            # MAX_EXAMPLES=20, PORT=18089, TIME=600 s at most per run
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/target/schemathesis-venv"
PORT="${PORT:-18089}"
MAX_EXAMPLES="${MAX_EXAMPLES:-20}"
TIME="${TIME:-600}"
BASE="http://127.0.0.1:$PORT"

if [ ! -x "$VENV/bin/schemathesis" ] || [ ! -x "$VENV/bin/openapi-spec-validator" ]; then
    [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis>=4,<5" "openapi-spec-validator>=0.7,<1"
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

echo "== openapi-spec-validator"
curl -fsS "$BASE/v1/openapi.json" >"$DATA/openapi.json"
"$VENV/bin/openapi-spec-validator" "$DATA/openapi.json"

token() { "$BIN" token --db "$DATA/kidplan.db" --contact "$1" --ttl-s 3600; }
GUARDIAN="$(token kari.nordmann@example.org)"
STAFF="$(token randi.solberg@example.org)"

status=0
run() {
    local who="$1" tok="$2"; shift 2
    echo "== schemathesis as $who"
    timeout "$TIME" "$VENV/bin/schemathesis" run "$BASE/v1/openapi.json" \
        --checks all --exclude-checks positive_data_acceptance --max-examples "$MAX_EXAMPLES" \
        --workers 1 --seed 4242 --no-color -H "Authorization: Bearer $tok" "$@" || status=1
}
# Logout would end the session half-way through, and schemathesis has no serializer for the
# binary bodies of uploads (it sends a JSON array as image/jpeg): all three are covered by
# server/tests instead.
# positive_data_acceptance is left out: rules across fields (a last day before the first, an
# event ending before it starts, at most a year), codes and confirmation tokens only the
# server knows, and the version of a telemetry report are not expressible in the schema, so
# schema-valid requests are refused with 400 by design (listed in the report of issue 14).
run guardian "$GUARDIAN" --exclude-path /v1/auth/logout --exclude-path /v1/staff/documents --exclude-path /v1/staff/photos
run staff "$STAFF" --include-path-regex '^/v1/staff/' --exclude-path /v1/staff/documents --exclude-path /v1/staff/photos

server_errors="$(grep -c 'status=5[0-9][0-9]' "$DATA/server.log" || true)"
echo "server log: $server_errors answers with a 5xx status"
if [ "$server_errors" != "0" ]; then
    grep 'status=5[0-9][0-9]' "$DATA/server.log" | head -20
    status=1
fi
exit "$status"
