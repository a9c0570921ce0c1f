#!/usr/bin/env bash
# Starts the whole system locally on the embedded default (SQLite): one sessiond shard and one
# collector on loopback, data under ./.clickpath-local (or $CLICKPATH_LOCAL_DIR). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"

dir="${CLICKPATH_LOCAL_DIR:-$PWD/.clickpath-local}"
collector_port="${CLICKPATH_COLLECTOR_PORT:-8080}"
query_port="${CLICKPATH_QUERY_PORT:-8081}"
wire_port="${CLICKPATH_WIRE_PORT:-7070}"
mkdir -p "$dir"

swift build -c release --product sessiond >&2
swift build -c release --product collector >&2
bin="$(swift build -c release --show-bin-path)"

# Admit any app id as a web app unless the user brought an apps.json.
apps="${CLICKPATH_APPS:-$dir/apps.json}"
if [ ! -f "$apps" ]; then
  cat > "$apps" <<'JSON'
{ "apps": { "*": { "platform": "web", "allowedOrigins": ["*"] } } }
JSON
fi
token="$dir/admin-token"
[ -f "$token" ] || head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$token"

pids=()
cleanup() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$bin/sessiond" --shard-id s1 --db "$dir/sessiond.db" --apps "$apps" \
  --wire "127.0.0.1:$wire_port" --http "127.0.0.1:$query_port" \
  --admin-token-file "$token" >"$dir/sessiond.log" 2>&1 &
pids+=($!)
"$bin/collector" --http "127.0.0.1:$collector_port" --data-dir "$dir/collector" --apps "$apps" \
  --shards "s1=127.0.0.1:$wire_port" >"$dir/collector.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$query_port/healthz" >/dev/null 2>&1 &&
     curl -fsS "http://127.0.0.1:$collector_port/healthz" >/dev/null 2>&1; then
    cat <<TEXT
Clickpath is running (data in $dir, logs: sessiond.log, collector.log).
  send beacons:   POST http://127.0.0.1:$collector_port/v1/beacons
  query sessions: http://127.0.0.1:$query_port/v1/sessions
  live users:     http://127.0.0.1:$query_port/v1/users/live
  metrics:        http://127.0.0.1:$collector_port/metrics  http://127.0.0.1:$query_port/metrics
  admin token:    $token (for DELETE /v1/users/... and /v1/visitors/...)
Ctrl-C stops both daemons.
TEXT
    wait -n "${pids[@]}"
    echo "a daemon exited; see $dir/*.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "the daemons did not become healthy; see $dir/sessiond.log and $dir/collector.log" >&2
exit 1
