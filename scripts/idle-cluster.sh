#!/usr/bin/env bash
# idle-cluster.sh DB NODES N [SETTLE]
#
# N idle stations spread over NODES `evcs serve` processes on one PostgreSQL DB (fresh), the way
# an operator past one process's open-file limit runs them: each node takes N/NODES stations.
# Imports one site and the stations (IDLE<k>-0001… for node k) with `evcs import`, starts the
# nodes on 127.0.0.1:18101… (PORT+k; pool_max_conns=$POOL each, default 12, so together they
# fit PostgreSQL's max_connections), starts one `evcs sim --load --mix idle` per node (boot,
# statuses, heartbeats every 300 s; dialing from 127.0.0.2… past ~25,000 per source), waits
# until all N sockets are established and SETTLE more seconds (default 60), then prints each
# node's RSS and the total, per connection, and the stations the store shows present (psql).
# Connections open at RATE per second in all (default 500). NODE_MEMLIMIT (e.g. 320MiB) is each
# node's GOMEMLIMIT: the collector then returns garbage from the connect storm instead of holding
# up to the live heap again. EVCS is the binary (default: go build).
#
#   createdb -h 127.0.0.1 -U postgres evcs_idle
#   scripts/idle-cluster.sh 'postgres://postgres@127.0.0.1:5432/evcs_idle?sslmode=disable' 6 100000
#   dropdb -h 127.0.0.1 -U postgres evcs_idle
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 postgres://… NODES N [SETTLE_SECONDS]" >&2
  exit 2
fi
DB=$1; NODES=$2; N=$3; SETTLE=${4:-60}
case $DB in postgres://*|postgresql://*) ;; *) echo "$0: several nodes need PostgreSQL, not $DB" >&2; exit 2 ;; esac
PER=$(( N / NODES ))
[ $(( PER * NODES )) -eq "$N" ] || { echo "$0: N ($N) must be a multiple of NODES ($NODES)" >&2; exit 2; }
cd "$(dirname "$0")/.."
if [ -z "${EVCS:-}" ]; then
  EVCS=$(mktemp -d)/evcs
  go build -o "$EVCS" ./cmd/evcs
fi
BASE=${PORT:-18100}
RATE=${RATE:-500}
TOKEN=idle-cluster-admin-token-0123456789
case $DB in *\?*) NODEDB="$DB&pool_max_conns=${POOL:-12}" ;; *) NODEDB="$DB?pool_max_conns=${POOL:-12}" ;; esac
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tmp=$(mktemp -d)
PIDS=(); SIMS=()
cleanup() {
  kill "${SIMS[@]}" 2>/dev/null || true
  kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

printf 'id,name,time_zone\nsite_idle_cluster,idle cluster,UTC\n' >"$tmp/sites.csv"
awk -v nodes="$NODES" -v per="$PER" 'BEGIN {
  print "id,site_id,kind"
  for (k = 1; k <= nodes; k++) for (i = 1; i <= per; i++) printf "IDLE%d-%04d,site_idle_cluster,ac\n", k, i
}' >"$tmp/stations.csv"
"$EVCS" import --db "$DB" --kind sites "$tmp/sites.csv" >/dev/null
"$EVCS" import --db "$DB" --kind stations "$tmp/stations.csv" >/dev/null

for k in $(seq 1 "$NODES"); do
  GOMEMLIMIT=${NODE_MEMLIMIT:-${GOMEMLIMIT:-}} "$EVCS" serve --listen "127.0.0.1:$((BASE + k))" --db "$NODEDB" --node-id "idle-$k" --admin-token "$TOKEN" \
    --ocpp-rate-limit off --log-level warn --log-format text >"$tmp/node$k.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$((BASE + k))/readyz" >/dev/null && break; sleep 0.1; done
done
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
total() { local s=0; for p in "$@"; do s=$(( s + $(rss "$p") )); done; echo $s; }
established() { ss -Htn state established "( sport >= :$((BASE + 1)) and sport <= :$((BASE + NODES)) )" | wc -l; }
sleep 2
R0=$(total "${PIDS[@]}")

start=$(date +%s)
for k in $(seq 1 "$NODES"); do
  "$EVCS" sim --url "ws://127.0.0.1:$((BASE + k))/ocpp" --stations "$PER" --id-prefix "IDLE$k-" --tag IDLE-TAG \
    --load --mix idle --evses 1 --connect-rate $(( (RATE + NODES - 1) / NODES )) --duration 24h >"$tmp/sim$k.out" 2>&1 &
  SIMS+=($!)
done
while [ "$(established)" -lt "$N" ]; do
  for s in "${SIMS[@]}"; do
    if ! kill -0 "$s" 2>/dev/null; then
      echo "$0: a load generator stopped with $(established) of $N connections established" >&2
      cat "$tmp"/sim*.out >&2; exit 1
    fi
  done
  if [ $(( $(date +%s) - start )) -gt 1800 ]; then
    echo "$0: only $(established) of $N connections established after 30 min" >&2; exit 1
  fi
  sleep 2
done
up=$(( $(date +%s) - start ))
R1=$(total "${PIDS[@]}")
sleep "$SETTLE"
R2=$(total "${PIDS[@]}")
S2=$(total "${SIMS[@]}")
present=$(psql "$DB" -Atc "SELECT node_id || '=' || count(*) FROM cluster_presence GROUP BY node_id ORDER BY node_id" | tr '\n' ' ' || echo '?')
for k in $(seq 1 "$NODES"); do
  echo "node=idle-$k port=$((BASE + k)) rss_kB=$(rss "${PIDS[$((k - 1))]}") established=$(ss -Htn state established "( sport = :$((BASE + k)) )" | wc -l)"
done
echo "present in the store: $present"
echo "node log lines (warn and error), by message:"
cat "$tmp"/node*.log | grep -o 'msg="[^"]*"' | sort | uniq -c | sort -rn | head -n 5 || true
kill -INT "${SIMS[@]}" 2>/dev/null || true
for k in $(seq 1 "$NODES"); do wait "${SIMS[$((k - 1))]}" 2>/dev/null || true; tail -n1 "$tmp/sim$k.out"; done
SIMS=()
echo "store=postgres nodes=$NODES stations=$N connect_s=$up server_rss_kB before=$R0 connected=$R1 settled=$R2" \
  "per_conn_B connected=$(( (R1 - R0) * 1024 / N )) settled=$(( (R2 - R0) * 1024 / N )) total_settled_GiB=$(awk -v r="$R2" 'BEGIN {printf "%.2f", r / 1048576}')" \
  "sim_rss_kB=$S2"
