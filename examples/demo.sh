#!/usr/bin/env bash
# End-to-end demo with no HubSpot account: builds both binaries, starts the bundled emulator,
# loads the bundled sample stream with the real target-hubspot binary, and shows what HubSpot
# now holds. Needs only Rust (cargo) and python3. Everything it writes stays in demo-output/.
set -euo pipefail
cd "$(dirname "$0")/.."

out=demo-output
rm -rf "$out"
mkdir -p "$out"

fail() {
  echo "demo failed: $*" >&2
  exit 1
}

echo "building target-hubspot and hubspot-emulator (release; the first build takes a few minutes)" >&2
cargo build --release --quiet --locked --workspace --bins || fail "cargo build failed (see above)"
for bin in target-hubspot hubspot-emulator; do
  [ -x "target/release/$bin" ] || fail "target/release/$bin was not built"
done

emulator_pid=
trap '[ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null || true' EXIT

# Start the emulator on a free port and read its address from the one line it prints.
./target/release/hubspot-emulator --port 0 > "$out/emulator.out" 2> "$out/emulator.log" &
emulator_pid=$!
base_url=
for _ in $(seq 100); do
  base_url=$(sed -n 's/^hubspot-emulator listening on //p' "$out/emulator.out")
  [ -n "$base_url" ] && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$out/emulator.log" >&2; fail "the emulator exited before listening (its log is above)"; }
  sleep 0.1
done
[ -n "$base_url" ] || { cat "$out/emulator.log" >&2; fail "the emulator did not start listening within 10 s"; }
echo "emulator: $base_url" >&2

cat > "$out/config.json" <<JSON
{
  "access_token": "pat-na1-00000000-0000-0000-0000-000000000000",
  "base_url": "$base_url",
  "rejected_records_path": "$out/rejected.jsonl"
}
JSON

status=0
./target/release/target-hubspot --config "$out/config.json" < fixtures/demo-contacts.jsonl \
  > "$out/state.jsonl" 2> "$out/target.log" || status=$?
echo "--- target-hubspot log (stderr, also in $out/target.log)"
cat "$out/target.log"
[ "$status" -eq 0 ] || fail "target-hubspot exited $status (its log is above)"
echo "--- STATE written to stdout ($out/state.jsonl)"
cat "$out/state.jsonl"
echo "--- rejected records ($out/rejected.jsonl)"
if [ -f "$out/rejected.jsonl" ]; then
  python3 - "$out/rejected.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "RECORD":
        print(" ", json.dumps(r["record"]), "->", r["error"]["category"] + ":", r["error"]["message"])
PY
else
  echo "  (none)"
fi
echo "--- contacts HubSpot now holds"
python3 - "$base_url" "$out/result.json" <<'PY'
import json, sys, urllib.request
objs = json.load(urllib.request.urlopen(sys.argv[1] + "/_emulator/objects/contacts"))
json.dump(objs, open(sys.argv[2], "w"), indent=1)
if not objs:
    sys.exit("demo failed: HubSpot holds no contacts")
print(" ", len(objs), "contacts, e.g.", json.dumps(objs[0]["properties"]))
PY
echo "--- done: the log, STATE, rejected records and stored contacts are in $out/"
