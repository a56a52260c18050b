#!/usr/bin/env bash
# load-cluster.sh DB NODES STATIONS [DURATION]
#
# Throughput of a cluster: starts NODES `evcs serve` processes on one PostgreSQL database DB
# (it should be fresh), on 127.0.0.1:$PORT, $PORT+2, … (default 18080), provisions STATIONS
# stations split evenly over the nodes (prefixes N1-, N2-, …, each with as many drivers as
# stations, so no account is shared between nodes), then runs one `evcs sim --load --mix closed`
# per node at once for DURATION (default 20s) and prints each node's summary line with its
# server's RSS, and the total rate. Compare with scripts/load-run.sh on one node over the same
# STATIONS. Each node takes pool_max_conns from DB if set (default 32): keep NODES × pool under
# PostgreSQL's max_connections. EVCS is the binary to use (default: go build ./cmd/evcs).
#
#   createdb -h 127.0.0.1 -U postgres evcs_bench
#   scripts/load-cluster.sh 'postgres://postgres@127.0.0.1:5432/evcs_bench?sslmode=disable&pool_max_conns=16' 2 1000
#   dropdb -h 127.0.0.1 -U postgres evcs_bench
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 DB NODES STATIONS [DURATION]" >&2
  exit 2
fi
DB=$1; NODES=$2; N=$3; DUR=${4:-20s}
case $DB in postgres://*|postgresql://*) ;; *) echo "$0: DB must be a postgres:// URL (several nodes need PostgreSQL)" >&2; exit 2 ;; esac
if [ "$NODES" -lt 1 ] || [ "$N" -lt "$NODES" ]; then
  echo "$0: want NODES ≥ 1 and STATIONS ≥ NODES" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
if [ -z "${EVCS:-}" ]; then
  EVCS=$(mktemp -d)/evcs
  go build -o "$EVCS" ./cmd/evcs
fi
TOKEN=load-run-admin-token-0123456789
PORT=${PORT:-18080}
PER=$((N / NODES))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null || true' EXIT
for k in $(seq 1 "$NODES"); do
  addr=127.0.0.1:$((PORT + 2 * (k - 1)))
  "$EVCS" serve --listen "$addr" --db "$DB" --admin-token "$TOKEN" --ocpp-rate-limit off --log-level warn --log-format text >/dev/null 2>&1 &
  pids+=($!)
  # One at a time: the first node migrates the fresh database.
  for _ in $(seq 1 100); do curl -sf "http://$addr/readyz" >/dev/null && break; sleep 0.1; done
  curl -sf "http://$addr/readyz" >/dev/null || { echo "$0: node $k on $addr did not become ready" >&2; exit 1; }
done
for k in $(seq 1 "$NODES"); do
  scripts/provision-sim.sh "http://127.0.0.1:$PORT" "$TOKEN" "$PER" "N$k-" "N$k-TAG" "$PER" >/dev/null
done
echo "store=postgres nodes=$NODES stations=$((PER * NODES)) duration=$DUR"
outs=()
sims=()
for k in $(seq 1 "$NODES"); do
  out=$(mktemp); outs+=("$out")
  "$EVCS" sim --url "ws://127.0.0.1:$((PORT + 2 * (k - 1)))/ocpp" --stations "$PER" --id-prefix "N$k-" --tag "N$k-TAG" --drivers "$PER" \
    --protocol ocpp1.6 --load --mix closed --connect-rate "${RATE:-500}" --duration "$DUR" --evses 1 --seed "$k" >"$out" &
  sims+=($!)
done
fail=0
for p in "${sims[@]}"; do wait "$p" || fail=1; done
for k in $(seq 1 "$NODES"); do
  echo "node=$k $(cat "${outs[$((k - 1))]}") rss=$(awk '/VmRSS/ {print $2 " kB"}' "/proc/${pids[$((k - 1))]}/status")"
done
cat "${outs[@]}" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^rate=/) { v = $i; sub("rate=", "", v); sub("/s", "", v); s += v }} END {printf "total rate=%.1f/s\n", s}'
rm -f "${outs[@]}"
exit $fail
