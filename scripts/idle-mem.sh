#!/usr/bin/env bash
# idle-mem.sh TARGET N [SETTLE]
#
# Memory per idle station of a real server process. TARGET is a store for `evcs serve`
# (sqlite:PATH or postgres://…, fresh) or `echo` for the reference server `evcs bench echo`.
# Starts the server on 127.0.0.1:18090, reads its VmRSS, provisions N stations
# (scripts/provision-sim.sh), connects N lean idle stations (`evcs sim --load --mix idle`: boot, statuses,
# heartbeats), waits until all N sockets are established and SETTLE more seconds (default 60),
# and prints the server's RSS growth per connection and the load generator's RSS per station.
# EVCS is the binary to use (default: go build ./cmd/evcs to a temp dir).
#
#   scripts/idle-mem.sh sqlite:/tmp/evcs-idle/evcs.db 10000
#   scripts/idle-mem.sh echo 10000
#   createdb -h 127.0.0.1 -U postgres evcs_idle
#   scripts/idle-mem.sh 'postgres://postgres@127.0.0.1:5432/evcs_idle?sslmode=disable' 10000
#   dropdb -h 127.0.0.1 -U postgres evcs_idle
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 sqlite:PATH|postgres://…|echo N [SETTLE_SECONDS]" >&2
  exit 2
fi
TARGET=$1; N=$2; SETTLE=${3:-60}
cd "$(dirname "$0")/.."
if [ -z "${EVCS:-}" ]; then
  EVCS=$(mktemp -d)/evcs
  go build -o "$EVCS" ./cmd/evcs
fi
PORT=${PORT:-18090}
ADDR=127.0.0.1:$PORT
TOKEN=idle-mem-admin-token-0123456789
if [ "$TARGET" = echo ]; then
  "$EVCS" bench echo --listen "$ADDR" >/dev/null 2>&1 &
else
  "$EVCS" serve --listen "$ADDR" --db "$TARGET" --admin-token "$TOKEN" --ocpp-rate-limit off --log-level warn --log-format text >/dev/null 2>&1 &
fi
PID=$!
SIM=
trap 'kill $PID $SIM 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
established() { ss -Htn state established "( sport = :$PORT )" | wc -l; }
sleep 2
# The baseline is the server before the stations are imported: the growth counts the stations'
# master data too, and the heap the import grew (up to the collector's headroom, gctune) is not
# taken off as if it were the empty server's.
R0=$(rss $PID)
if [ "$TARGET" != echo ]; then
  scripts/provision-sim.sh "http://$ADDR" "$TOKEN" "$N" IDLE- IDLE-TAG >/dev/null
fi
"$EVCS" sim --url "ws://$ADDR/ocpp" --stations "$N" --id-prefix IDLE- --tag IDLE-TAG --load --mix idle \
  --evses 1 --connect-rate "${RATE:-1000}" --duration 24h >/tmp/idle-mem-sim.$$ 2>&1 &
SIM=$!
start=$(date +%s)
while [ "$(established)" -lt "$N" ]; do
  if ! kill -0 $SIM 2>/dev/null || [ $(( $(date +%s) - start )) -gt 900 ]; then
    echo "$0: only $(established) of $N connections established" >&2; cat /tmp/idle-mem-sim.$$ >&2; exit 1
  fi
  sleep 1
done
up=$(( $(date +%s) - start ))
R1=$(rss $PID); S1=$(rss $SIM)
sleep "$SETTLE"
R2=$(rss $PID); S2=$(rss $SIM)
if [ "$TARGET" != echo ]; then # the Go runtime's view: live heap, stacks, heap kept but unused
  curl -s -H "Authorization: Bearer $TOKEN" "http://$ADDR/debug/pprof/heap?debug=1" |
    awk '/^# (HeapInuse|HeapIdle|HeapReleased|Stack|NumGC) / {printf "%s%s=%s", sep, $2, $4; sep=" "} END {print ""}'
  if [ -n "${HEAPPROFILE:-}" ]; then
    curl -s -H "Authorization: Bearer $TOKEN" "http://$ADDR/debug/pprof/heap" -o "$HEAPPROFILE"
  fi
fi
kill -INT $SIM; wait $SIM 2>/dev/null || true; SIM=
tail -n1 /tmp/idle-mem-sim.$$; rm -f /tmp/idle-mem-sim.$$
echo "target=${TARGET%%:*} stations=$N connect_s=$up server_rss_kB before=$R0 connected=$R1 settled=$R2" \
  "per_conn_B connected=$(( (R1 - R0) * 1024 / N )) settled=$(( (R2 - R0) * 1024 / N ))" \
  "sim_rss_kB=$S2 sim_per_station_B=$(( S2 * 1024 / N ))"
