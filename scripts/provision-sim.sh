#!/usr/bin/env bash
# provision-sim.sh URL TOKEN N PREFIX TAG [DRIVERS]
#
# Registers what `evcs sim --stations N --id-prefix PREFIX --tag TAG` needs on a running EVCS:
# one site, stations PREFIX0001…PREFIX<N> (no password), one purchaser whose prepaid account has
# a credit limit of 1,000,000.00 (so no session is ever refused for funds) and the id token TAG.
# With DRIVERS > 1 (for `evcs sim --drivers DRIVERS`), DRIVERS such purchasers instead, with
# tokens TAG-0001…: one account shared by every station serialises its postings (they lock its
# balance), which a real site with many drivers never does.
# The site gets a default tariff (0.30 €/kWh and 1.20 €/h, 21 % VAT), so every session is rated,
# gets a CDR and is paid from its account, as at a real site; TARIFF=0 leaves sessions unrated
# (the load figures of stop 15 and before were taken so).
# Idempotent enough to rerun: records that already exist (409) are left as they are.
#
#   export EVCS_ADMIN_TOKEN=change-me-0123456789
#   evcs serve --admin-token "$EVCS_ADMIN_TOKEN" &
#   scripts/provision-sim.sh http://127.0.0.1:8080 "$EVCS_ADMIN_TOKEN" 1000 SIM- SIM-TAG
#   evcs sim --stations 1000 --id-prefix SIM- --tag SIM-TAG --load --duration 20s
set -euo pipefail
if [ $# -ne 5 ] && [ $# -ne 6 ]; then
  echo "usage: $0 URL TOKEN N PREFIX TAG [DRIVERS]   (e.g. $0 http://127.0.0.1:8080 \$EVCS_ADMIN_TOKEN 100 SIM- SIM-TAG)" >&2
  exit 2
fi
URL=${1%/}; TOKEN=$2; N=$3; PREFIX=$4; TAG=$5; DRIVERS=${6:-1}
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
if [ "${TARIFF:-1}" != 0 ] && [ -z "$(curl -sS -H "$AUTH" "$API/sites/$SITE" | json default_tariff_id)" ]; then
  TARIFF_ID=$(post /tariffs '{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.30,"vat":21,"step_size":1},{"type":"TIME","price":1.20,"vat":21,"step_size":60}]}]}' | json id)
  [ -n "$TARIFF_ID" ] || { echo "$0: the tariff could not be created" >&2; exit 1; }
  post "/sites/$SITE" "{\"default_tariff_id\":\"$TARIFF_ID\"}" PATCH >/dev/null
fi

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

if [ "$DRIVERS" -gt 1 ]; then
  # DRIVERS purchasers, each with a token TAG-000k: users in one curl run, then their
  # accounts' credit limits and the tokens in another. A rerun skips drivers that exist.
  slug=$(printf '%s' "$TAG" | tr -c 'A-Za-z0-9' '-' | tr 'A-Z' 'a-z')
  : >"$cfg"
  for j in $(seq 1 "$DRIVERS"); do
    [ "$j" = 1 ] || echo next >>"$cfg"
    printf 'url = "%s/users"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "{\\"name\\":\\"Sim driver %s-%04d\\",\\"email\\":\\"sim-%s-%04d@example.com\\",\\"role\\":\\"purchaser\\",\\"currency\\":\\"EUR\\"}"\nwrite-out = "\\n"\n' \
      "$API" "$AUTH" "$TAG" "$j" "$slug" "$j" >>"$cfg"
  done
  accs=$(curl -sS -K "$cfg" | json account_id)
  : >"$cfg"
  j=0
  for acc in $accs; do
    j=$((j + 1))
    [ "$j" = 1 ] || echo next >>"$cfg"
    printf 'url = "%s/accounts/%s"\nrequest = "PATCH"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "{\\"credit_limit\\":\\"1000000.00\\"}"\nwrite-out = "%%{http_code}\\n"\noutput = "/dev/null"\n' \
      "$API" "$acc" "$AUTH" >>"$cfg"
    printf 'next\nurl = "%s/id-tokens"\nheader = "%s"\nheader = "Content-Type: application/json"\ndata = "{\\"uid\\":\\"%s-%04d\\",\\"type\\":\\"ISO14443\\",\\"account_id\\":\\"%s\\"}"\nwrite-out = "%%{http_code}\\n"\noutput = "/dev/null"\n' \
      "$API" "$AUTH" "$TAG" "$j" "$acc" >>"$cfg"
  done
  [ "$j" -gt 0 ] || { echo "$0: no driver accounts created (rerun on a store that has them?)" >&2; exit 1; }
  bad=$(curl -sS -K "$cfg" | grep -cv -e '^200$' -e '^201$' -e '^409$' || true)
  [ "$bad" = 0 ] || { echo "$0: $bad driver record(s) could not be created" >&2; exit 1; }
  echo "provisioned $N stations ${PREFIX}0001… on site $SITE, $j drivers $TAG-0001…"
  exit 0
fi

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
