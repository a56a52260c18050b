#!/usr/bin/env bash
# provision-sim.sh URL TOKEN N PREFIX TAG
#
# Registers what `evcs sim --stations N --id-prefix PREFIX --tag TAG` needs on a running EVCS:
# one site, stations PREFIX0001…PREFIX<N> (no password), one purchaser whose prepaid account has
# a credit limit of 1,000,000.00 (so no session is ever refused for funds) and the id token TAG.
# Idempotent enough to rerun: records that already exist (409) are left as they are.
#
#   export EVCS_ADMIN_TOKEN=change-me-0123456789
#   evcs serve --admin-token "$EVCS_ADMIN_TOKEN" &
#   scripts/provision-sim.sh http://127.0.0.1:8080 "$EVCS_ADMIN_TOKEN" 1000 SIM- SIM-TAG
#   evcs sim --stations 1000 --id-prefix SIM- --tag SIM-TAG --load --duration 20s
set -euo pipefail
if [ $# -ne 5 ]; then
  echo "usage: $0 URL TOKEN N PREFIX TAG   (e.g. $0 http://127.0.0.1:8080 \$EVCS_ADMIN_TOKEN 100 SIM- SIM-TAG)" >&2
  exit 2
fi
URL=${1%/}; TOKEN=$2; N=$3; PREFIX=$4; TAG=$5
API=$URL/api/v1
AUTH="Authorization: Bearer $TOKEN"
json() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

# post PATH BODY: prints the body of the answer; fails on anything but 2xx or 409.
post() {
  local out code
  out=$(curl -sS -w '\n%{http_code}' -H "$AUTH" -H 'Content-Type: application/json' -X "${3:-POST}" "$API$1" -d "$2")
  code=${out##*$'\n'}
  case $code in
    2??|409) printf '%s\n' "${out%$'\n'*}" ;;
    *) echo "$0: ${3:-POST} $1: HTTP $code: ${out%$'\n'*}" >&2; exit 1 ;;
  esac
}

# The site is found by name, so a rerun reuses it.
SITE_NAME="sim $PREFIX"
SITE=$(curl -sS -G -H "$AUTH" "$API/sites" --data-urlencode "q=$SITE_NAME" | json id | head -n1)
[ -n "$SITE" ] || SITE=$(post /sites "{\"name\":\"$SITE_NAME\",\"time_zone\":\"UTC\"}" | json id)

# Stations: one curl process for all of them (a config file with one request per station).
cfg=$(mktemp); trap 'rm -f "$cfg"' EXIT
for i in $(seq 1 "$N"); do
  printf -v id '%s%04d' "$PREFIX" "$i"
  [ "$i" = 1 ] || echo next >>"$cfg"
  printf 'url = "%s/stations"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "{\\"id\\":\\"%s\\",\\"site_id\\":\\"%s\\",\\"kind\\":\\"ac\\"}"\nwrite-out = "%%{http_code}\\n"\noutput = "/dev/null"\n' \
    "$API" "$AUTH" "$id" "$SITE" >>"$cfg"
done
bad=$(curl -sS -K "$cfg" | grep -cv -e '^201$' -e '^409$' || true)
[ "$bad" = 0 ] || { echo "$0: $bad station(s) could not be created" >&2; exit 1; }

# The purchaser and the token; a rerun finds the user by e-mail and the token by uid.
EMAIL="sim-$(printf '%s' "$TAG" | tr -c 'A-Za-z0-9' '-' | tr 'A-Z' 'a-z')@example.com"
USER_JSON=$(post /users "{\"name\":\"Sim driver $TAG\",\"email\":\"$EMAIL\",\"role\":\"purchaser\",\"currency\":\"EUR\"}")
ACC=$(printf '%s' "$USER_JSON" | json account_id)
if [ -z "$ACC" ]; then
  ACC=$(curl -sS -G -H "$AUTH" "$API/users" --data-urlencode "email=$EMAIL" | json account_id | head -n1)
fi
[ -n "$ACC" ] || { echo "$0: no account for $EMAIL" >&2; exit 1; }
post "/accounts/$ACC" '{"credit_limit":"1000000.00"}' PATCH >/dev/null
post /id-tokens "{\"uid\":\"$TAG\",\"type\":\"ISO14443\",\"account_id\":\"$ACC\"}" >/dev/null
echo "provisioned $N stations ${PREFIX}0001… on site $SITE, token $TAG on account $ACC"
