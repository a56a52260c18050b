#!/usr/bin/env bash
# load-run.sh DB PROTOCOL DURATION STATIONS...
#
# Starts `evcs serve` on 127.0.0.1:$PORT (default 18080) over DB (sqlite:PATH or postgres://…; the store should be
# fresh), provisions the largest station count with scripts/provision-sim.sh, then for each count
# runs `evcs sim --load --mix $MIX` for DURATION (MIX: closed, the default, realistic or idle) and
# prints its summary line (messages, rate, p50/p90/p99, errors, connected, peak_conns) with the
# server's RSS and the CPU time per message, in µs, of the server (server_cpu_us) and, on a
# PostgreSQL of this machine, of all PostgreSQL's processes (pg_cpu_us). With ECHO=1 each count
# also runs against `evcs bench echo` (the ceiling: a bare OCPP server with canned replies) right after, and the line gets echo's rate and p99 and EVCS's
# share of echo's rate. Stations connect at $RATE per second (default 500); past ~25,000 they dial from
# 127.0.0.2, 127.0.0.3, … With DRIVERS=N (default 1) the stations charge with N drivers'
# tokens in turn instead of one shared account's. Stops the server at the end. EVCS is the binary to use (default: go
# build ./cmd/evcs to a temp dir).
#
#   scripts/load-run.sh sqlite:/tmp/evcs-load/evcs.db ocpp1.6 20s 100 1000
#   createdb -h 127.0.0.1 -U postgres evcs_bench
#   scripts/load-run.sh 'postgres://postgres@127.0.0.1:5432/evcs_bench?sslmode=disable' ocpp1.6 20s 100 1000
#   dropdb -h 127.0.0.1 -U postgres evcs_bench
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 DB PROTOCOL DURATION STATIONS..." >&2
  exit 2
fi
DB=$1; PROTO=$2; DUR=$3; shift 3
MIX=${MIX:-closed}; RATE=${RATE:-500}; DRIVERS=${DRIVERS:-1}
cd "$(dirname "$0")/.."
if [ -z "${EVCS:-}" ]; then
  EVCS=$(mktemp -d)/evcs
  go build -o "$EVCS" ./cmd/evcs
fi
ADDR=127.0.0.1:${PORT:-18080}
TOKEN=load-run-admin-token-0123456789
max=0; for n in "$@"; do [ "$n" -gt "$max" ] && max=$n; done

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$EVCS" serve --listen "$ADDR" --db "$DB" --admin-token "$TOKEN" --ocpp-rate-limit off --log-level warn --log-format text >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://$ADDR/readyz" >/dev/null && break; sleep 0.1; done
scripts/provision-sim.sh "http://$ADDR" "$TOKEN" "$max" LOAD- LOAD-TAG "$DRIVERS" >/dev/null
rss() { awk '/VmRSS/ {print $2 " kB"}' /proc/$PID/status; }
# ticks PID...: CPU time (user + system, clock ticks) the processes have used so far.
ticks() { for p in "$@"; do sed 's/.*) //' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $12 + $13} END {print s + 0}'; }
# pgticks: the same for PostgreSQL's processes, when the store is on this machine (backends
# that start during a run count whole; the pool's connections outlive it).
pgticks() { ticks $(pgrep -u postgres || true); }
HZ=$(getconf CLK_TCK)
echo "store=${DB%%:*} protocol=$PROTO mix=$MIX drivers=$DRIVERS server_pid=$PID rss_before=$(rss)"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
# per TICKS MESSAGES: CPU µs per message.
per() { awk -v t="$1" -v m="$2" -v hz="$HZ" 'BEGIN {if (m > 0) printf "%.0f", t * 1e6 / hz / m; else print 0}'; }
for n in "$@"; do
  s0=$(ticks $PID); p0=$(pgticks)
  line=$("$EVCS" sim --url "ws://$ADDR/ocpp" --stations "$n" --id-prefix LOAD- --tag LOAD-TAG --drivers "$DRIVERS" \
    --protocol "$PROTO" --load --mix "$MIX" --connect-rate "$RATE" --duration "$DUR" --evses 1 --seed 1)
  # CPU per message, of the server and of PostgreSQL: steadier than the rate on a machine
  # whose speed drifts between runs, and what the rate is bound by once the cores are busy.
  msgs=$(echo " $line" | field messages)
  line="$line rss=$(rss) server_cpu_us=$(per $(( $(ticks $PID) - s0 )) "$msgs")"
  case $DB in postgres*) line="$line pg_cpu_us=$(per $(( $(pgticks) - p0 )) "$msgs")" ;; esac
  if [ "${ECHO:-0}" = 1 ]; then
    EADDR=127.0.0.1:$(( ${PORT:-18080} + 1 ))
    "$EVCS" bench echo --listen "$EADDR" >/dev/null 2>&1 &
    EPID=$!
    for _ in $(seq 1 100); do (echo >/dev/tcp/${EADDR%:*}/${EADDR#*:}) 2>/dev/null && break; sleep 0.1; done
    eline=$("$EVCS" sim --url "ws://$EADDR/ocpp" --stations "$n" --id-prefix ECHO- --tag ECHO-TAG \
      --protocol "$PROTO" --load --mix "$MIX" --connect-rate "$RATE" --duration "$DUR" --evses 1 --seed 1)
    kill $EPID; wait $EPID 2>/dev/null || true
    ours=$(echo " $line" | field rate); theirs=$(echo " $eline" | field rate)
    line="$line echo_rate=$theirs echo_p99=$(echo " $eline" | field p99) of_echo=$(awk -v a="${ours%/s}" -v b="${theirs%/s}" 'BEGIN {printf "%.1f%%", 100 * a / b}')"
  fi
  echo "$line"
done
