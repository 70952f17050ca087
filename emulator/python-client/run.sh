#!/usr/bin/env bash
# HubSpot's official Python client (hubspot-api-client 12) against the emulator: builds the
# emulator, installs the client into a fresh virtual environment, starts the emulator on a
# free port and runs flow.py. Needs cargo, python3 and access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release --locked -p hubspot-emulator
work=$(mktemp -d)
emulator_pid=
trap '[ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null; rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "hubspot-api-client==12.0.0"

./target/release/hubspot-emulator --port 0 > "$work/emulator.out" 2> "$work/emulator.log" &
emulator_pid=$!
base_url=
for _ in $(seq 1 100); do
  base_url=$(sed -n 's/^hubspot-emulator listening on //p' "$work/emulator.out")
  [ -n "$base_url" ] && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.log" >&2; echo "the emulator exited before listening" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base_url" ] || { cat "$work/emulator.log" >&2; echo "the emulator did not start within 10 s" >&2; exit 1; }

"$work/venv/bin/python" emulator/python-client/flow.py "$base_url"
