#!/usr/bin/env bash
# DescribeJob throughput of jobctl-emulator and of moto_server, measured in the same run with
# the same load generator (emulator/examples/describe_load.rs: keep-alive HTTP/1.1, N
# concurrent connections, one client thread, static unverified SigV4 header so moto routes
# the calls to IoT). Loopback only; each run is bounded by BENCH_SECONDS.
#
#   bench/emulator_describe.sh                      # 5 s per server, 16 connections, release build
#   BENCH_SECONDS=10 BENCH_CONNECTIONS=32 bench/emulator_describe.sh
#   BENCH_SKIP_MOTO=1 bench/emulator_describe.sh    # emulator only (no Python venv needed)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${BENCH_SECONDS:-5}
conns=${BENCH_CONNECTIONS:-16}
profile=${BENCH_PROFILE:-release}
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
target=${CARGO_TARGET_DIR:-target}/$dir

cargo build --quiet --profile "$profile" -p jobctl-emulator --bin jobctl-emulator --example describe_load
load="$target/examples/describe_load"
emu_bin="$target/jobctl-emulator"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- jobctl-emulator -------------------------------------------------------------------------
"$emu_bin" --listen 127.0.0.1:0 >"$tmp/emu.out" 2>"$tmp/emu.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/emu.out" ] && break; sleep 0.05; done
emu_url=$(head -1 "$tmp/emu.out" | sed 's/^listening on //')
emu_json=$("$load" --url "$emu_url" --seconds "$secs" --connections "$conns" --setup)
kill "${pids[0]}" 2>/dev/null || true

# --- moto_server -----------------------------------------------------------------------------
moto_json='{"calls_per_second": null}'
if [ -z "${BENCH_SKIP_MOTO:-}" ]; then
  scripts/venv
  port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$tmp/moto.log" 2>&1 &
  pids+=($!)
  .venv/bin/python - "$port" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/moto-api/"
for _ in range(300):
    try:
        urllib.request.urlopen(url, timeout=1).read(); sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit("moto_server did not start")
PY
  moto_json=$("$load" --url "http://127.0.0.1:$port" --seconds "$secs" --connections "$conns" --setup)
  moto_version=$(.venv/bin/python -c 'import moto; print(moto.__version__)')
fi

rate() { sed -E 's/.*"calls_per_second": ([0-9.]+|null).*/\1/' <<<"$1"; }
emu_rate=$(rate "$emu_json")
moto_rate=$(rate "$moto_json")
echo "DescribeJob, ${conns} keep-alive connections, ${secs} s each, $(nproc) cores, profile ${profile}"
echo "| server | calls/s | raw |"
echo "|---|---|---|"
echo "| jobctl-emulator | ${emu_rate} | ${emu_json} |"
echo "| moto_server ${moto_version:-} | ${moto_rate} | ${moto_json} |"
if [ "$moto_rate" != null ] && [ -n "$moto_rate" ]; then
  awk -v a="$emu_rate" -v b="$moto_rate" 'BEGIN { if (b > 0) printf "emulator/moto: %.1fx\n", a / b }'
fi
