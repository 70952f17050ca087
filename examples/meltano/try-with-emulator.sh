#!/usr/bin/env bash
# Runs this Meltano project against hubspot-emulator: no HubSpot account needed.
#
#   ./try-with-emulator.sh [REPO]
#
# REPO is a clone of the target-hubspot repository (default: $TARGET_HUBSPOT_REPO, else the
# repository this project sits in, when it is still examples/meltano). The emulator is the
# `hubspot-emulator` on PATH, or built from REPO; the target is installed from
# $HUBSPOT_LOADER_PIP_URL, or from REPO. Needs meltano on PATH (pip install meltano),
# python3, and Rust when something is built.
set -euo pipefail
cd "$(dirname "$0")"
command -v meltano >/dev/null || { echo "meltano is not on PATH: pip install meltano" >&2; exit 1; }
repo=${1:-${TARGET_HUBSPOT_REPO:-}}
if [ -z "$repo" ] && [ -f ../../Cargo.toml ] && [ -d ../../emulator ]; then
  repo=$(cd ../.. && pwd)
fi
emulator=$(command -v hubspot-emulator || true)
if [ -z "$emulator" ]; then
  [ -n "$repo" ] || { echo "hubspot-emulator is not on PATH: give the repository's path, ./try-with-emulator.sh PATH" >&2; exit 1; }
  cargo build --release --quiet --locked -p hubspot-emulator --manifest-path "$repo/Cargo.toml"
  emulator="$repo/target/release/hubspot-emulator"
fi
if [ -z "${HUBSPOT_LOADER_PIP_URL:-}" ]; then
  [ -n "$repo" ] || { echo "set HUBSPOT_LOADER_PIP_URL (a clone's path or the git URL), or give the repository's path" >&2; exit 1; }
  export HUBSPOT_LOADER_PIP_URL="$repo"
fi
mkdir -p output
"$emulator" --port 0 > output/emulator.out 2> output/emulator.log &
emulator_pid=$!
trap 'kill $emulator_pid 2>/dev/null || true' EXIT
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
