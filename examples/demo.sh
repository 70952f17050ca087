#!/usr/bin/env bash
# End-to-end demo with no HubSpot account: starts the bundled emulator, loads the bundled
# sample stream with the real target-hubspot binary, and shows what HubSpot now holds.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet --bins
work=$(mktemp -d)
trap 'kill "$emulator_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# Start the emulator on a free port and read its address from the one line it prints.
./target/release/hubspot-emulator --port 0 > "$work/emulator.out" 2> "$work/emulator.log" &
emulator_pid=$!
for _ in $(seq 50); do grep -q listening "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
base_url=$(sed -n 's/^hubspot-emulator listening on //p' "$work/emulator.out")
echo "emulator: $base_url"

cat > "$work/config.json" <<JSON
{
  "access_token": "pat-na1-00000000-0000-0000-0000-000000000000",
  "base_url": "$base_url",
  "rejected_records_path": "$work/rejected.jsonl"
}
JSON

echo "--- STATE written to stdout"
./target/release/target-hubspot --config "$work/config.json" < fixtures/demo-contacts.jsonl
echo "--- rejected records ($work/rejected.jsonl)"
grep '"RECORD"' "$work/rejected.jsonl" | python3 -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l); print(" ", json.dumps(r["record"]), "->", r["error"]["category"] + ":", r["error"]["message"])'
echo "--- contacts HubSpot now holds"
curl -s "$base_url/_emulator/objects/contacts" | python3 -c 'import json,sys
objs = json.load(sys.stdin); print(" ", len(objs), "contacts, e.g.", json.dumps(objs[0]["properties"]))'
