#!/usr/bin/env bash
# Runs this Meltano project against the bundled hubspot-emulator: no HubSpot account needed.
# Needs meltano on PATH (pip install meltano), Rust and python3.
set -euo pipefail
cd "$(dirname "$0")"
command -v meltano >/dev/null || { echo "meltano is not on PATH: pip install meltano" >&2; exit 1; }
(cd ../.. && cargo build --release --quiet --locked -p hubspot-emulator)
mkdir -p output
../../target/release/hubspot-emulator --port 0 > output/emulator.out 2> output/emulator.log &
emulator=$!
trap 'kill $emulator 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  base_url=$(sed -n 's/^hubspot-emulator listening on //p' output/emulator.out)
  [ -n "$base_url" ] && break
  sleep 0.1
done
[ -n "${base_url:-}" ] || { cat output/emulator.log >&2; echo "the emulator did not start" >&2; exit 1; }
export TARGET_HUBSPOT_BASE_URL="$base_url"
export TARGET_HUBSPOT_ACCESS_TOKEN=pat-na1-00000000-0000-0000-0000-000000000000
meltano install
meltano run tap-jsonl target-hubspot
python3 - "$base_url" <<'PY'
import json, sys, urllib.request
objs = json.load(urllib.request.urlopen(sys.argv[1] + "/_emulator/objects/contacts"))
for o in objs:
    p = o["properties"]
    print(" ", p["email"], p.get("firstname"), "opted out:", p.get("hs_email_optout"))
PY
echo "summary: output/summary.json; rejected records: output/rejected-customers-*.jsonl"
