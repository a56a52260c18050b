#!/usr/bin/env bash
# load-ab.sh STORE A B [STATIONS] [DURATION] [PAIRS]
#
# Compares two `evcs` binaries under the load tool: runs scripts/load-run.sh with A and B, PAIRS
# times (default 3; in turn A B, B A, A B, …), each run on a fresh store, and prints every run's line and then each binary's
# mean rate and B's mean as a share of A's, and the same for the CPU time per message (the
# server's plus PostgreSQL's, when it runs here). Runs alternate because this machine's rate
# drifts by ±10 % between runs of one binary (±20 % within an hour seen on 2026-12-07): a
# change smaller than that shows only over several pairs. CPU per message drifts less.
# STORE is sqlite (a new file under a temp dir each run) or a PostgreSQL server URL without a
# database name (a database evcs_ab is created for each run and dropped after it). A and B are
# binaries, e.g. built from two commits:
#
#   git worktree add /tmp/evcs-base HEAD~1 && (cd /tmp/evcs-base && go build -o /tmp/evcs-a ./cmd/evcs)
#   go build -o /tmp/evcs-b ./cmd/evcs
#   scripts/load-ab.sh sqlite /tmp/evcs-a /tmp/evcs-b 1000 20s 3
#   scripts/load-ab.sh 'postgres://postgres@127.0.0.1:5432' /tmp/evcs-a /tmp/evcs-b 1000 20s 3
#
# DRIVERS (default 1000), PROTO (default ocpp1.6) and MIX pass through to load-run.sh.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 STORE A B [STATIONS] [DURATION] [PAIRS]" >&2
  exit 2
fi
STORE=$1; A=$2; B=$3; N=${4:-1000}; DUR=${5:-20s}; PAIRS=${6:-3}
case $STORE in
  sqlite) ;;
  postgres://*|postgresql://*)
    case ${STORE#*://} in */*) echo "$0: give the PostgreSQL server URL without a database name" >&2; exit 2 ;; esac ;;
  *) echo "$0: STORE must be sqlite or a postgres:// server URL" >&2; exit 2 ;;
esac
for bin in "$A" "$B"; do
  [ -x "$bin" ] || { echo "$0: $bin is not an executable" >&2; exit 2; }
done
cd "$(dirname "$0")/.."
export DRIVERS=${DRIVERS:-1000}
export PGOPTIONS='-c client_min_messages=warning' # no notice for a database that is not there
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run BIN: one load run on a fresh store; prints its rate (msgs/s).
run() {
  local db line
  if [ "$STORE" = sqlite ]; then
    rm -rf "$tmp/db" && mkdir -p "$tmp/db"
    db=sqlite:$tmp/db/evcs.db
  else
    psql "$STORE/postgres" -qAtc 'DROP DATABASE IF EXISTS evcs_ab' >/dev/null
    psql "$STORE/postgres" -qAtc 'CREATE DATABASE evcs_ab' >/dev/null
    db="$STORE/evcs_ab?sslmode=disable"
  fi
  line=$(EVCS=$1 scripts/load-run.sh "$db" "${PROTO:-ocpp1.6}" "$DUR" "$N" | tail -1)
  [ "$STORE" = sqlite ] || psql "$STORE/postgres" -qAtc 'DROP DATABASE IF EXISTS evcs_ab' >/dev/null
  echo "$line" >&2
  # rate, and CPU µs per message of the server plus PostgreSQL's
  echo " $line" | awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}
    sub("/s", "", v["rate"]); printf "%s:%d\n", v["rate"], v["server_cpu_us"] + v["pg_cpu_us"]}'
}

ra=(); rb=()
# A B, B A, A B, …: the machine drifts within a pair too, and a fixed order would give that
# drift to one side (on 2026-12-07 three pairs of one order gave B 90.6 % and 92.3 % of A; the
# same binaries in the other order, 102.9 %).
for p in $(seq 1 "$PAIRS"); do
  if [ $((p % 2)) = 1 ]; then
    echo "pair $p: A" >&2; ra+=("$(run "$A")")
    echo "pair $p: B" >&2; rb+=("$(run "$B")")
  else
    echo "pair $p: B" >&2; rb+=("$(run "$B")")
    echo "pair $p: A" >&2; ra+=("$(run "$A")")
  fi
done
echo "A (rate:cpu_us): ${ra[*]}"
echo "B (rate:cpu_us): ${rb[*]}"
awk -v a="${ra[*]}" -v b="${rb[*]}" 'BEGIN {
  na = split(a, x, " "); nb = split(b, y, " "); sa = sb = ca = cb = 0
  for (i = 1; i <= na; i++) {split(x[i], f, ":"); sa += f[1]; ca += f[2]}
  for (i = 1; i <= nb; i++) {split(y[i], f, ":"); sb += f[1]; cb += f[2]}
  printf "mean A %.0f msgs/s, B %.0f msgs/s: B is %.1f %% of A\n", sa / na, sb / nb, 100 * (sb / nb) / (sa / na)
  printf "CPU per message (server + PostgreSQL): A %.0f µs, B %.0f µs: B is %.1f %% of A\n", ca / na, cb / nb, 100 * (cb / nb) / (ca / na)
}'
