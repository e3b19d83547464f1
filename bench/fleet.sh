#!/usr/bin/env bash
# One SNAPSHOT job over a simulated fleet of 100,000 things at timeScale 1000, on
# jobctl-emulator: wall time from CreateJob to COMPLETED, peak RSS of the emulator, and
# DescribeJob calls/s measured during the rollout; the baseline is DescribeJob calls/s on the
# same emulator before the rollout starts (fleet loaded, nothing running). The load generator
# is emulator/examples/describe_load.rs (keep-alive HTTP/1.1, one client thread). Loopback
# only; every phase is bounded in time.
#
#   bench/fleet.sh                                  # 100,000 things, timeScale 1000, release build
#   BENCH_THINGS=20000 BENCH_TIME_SCALE=500 bench/fleet.sh
#   BENCH_PROFILE=dev bench/fleet.sh               # the debug build the tests use
#   BENCH_NO_BUILD=1 bench/fleet.sh                # use the binaries already built
set -euo pipefail
cd "$(dirname "$0")/.."

things=${BENCH_THINGS:-100000}
scale=${BENCH_TIME_SCALE:-1000}
conns=${BENCH_CONNECTIONS:-16}
baseline_secs=${BENCH_BASELINE_SECONDS:-3}
max_secs=${BENCH_MAX_SECONDS:-120}
profile=${BENCH_PROFILE:-release}
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
target=${CARGO_TARGET_DIR:-target}/$dir

if [ -z "${BENCH_NO_BUILD:-}" ]; then
  cargo build --quiet --profile "$profile" -p jobctl-emulator --bin jobctl-emulator --example describe_load
fi
load="$target/examples/describe_load"
emu_bin="$target/jobctl-emulator"

tmp=$(mktemp -d)
emu_pid=
cleanup() {
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/fleet.yaml" <<EOF
seed: 1
timeScale: $scale
groups:
  - {name: Bench, size: $things}
devices:
  pickupSeconds: {min: 1, max: 30}
  durationSeconds: {min: 20, max: 120}
  outcomes: {SUCCEEDED: 0.98, FAILED: 0.02}
EOF

started=$(date +%s.%N)
"$emu_bin" --listen 127.0.0.1:0 --fleet "$tmp/fleet.yaml" >"$tmp/emu.out" 2>"$tmp/emu.log" &
emu_pid=$!
for _ in $(seq 600); do [ -s "$tmp/emu.out" ] && break; sleep 0.05; done
url=$(head -1 "$tmp/emu.out" | sed 's/^listening on //')
[ -n "$url" ] || { echo "fleet.sh: the emulator did not start" >&2; cat "$tmp/emu.log" >&2; exit 1; }
ready=$(date +%s.%N)
rss_idle=$(awk '/^VmRSS/ {print $2}' "/proc/$emu_pid/status")

# Baseline: DescribeJob on the idle emulator (fleet loaded, one small job, nothing rolling out).
baseline=$("$load" --url "$url" --seconds "$baseline_secs" --connections "$conns" --setup)

# The run: one job over the whole fleet at the default rate (1000 a minute), DescribeJob load
# until a response shows it COMPLETED.
arn="arn:aws:iot:us-east-1:123456789012:thinggroup/Bench"
code=$(curl -sS -o "$tmp/create.json" -w '%{http_code}' -X PUT "$url/jobs/fleet-bench" \
  -H 'Content-Type: application/json' \
  -d "{\"targets\":[\"$arn\"],\"document\":\"{\\\"firmware\\\":\\\"1.0\\\"}\"}")
[ "$code" = 200 ] || { echo "fleet.sh: CreateJob answered $code: $(cat "$tmp/create.json")" >&2; exit 1; }
run=$("$load" --url "$url" --seconds "$max_secs" --connections "$conns" --job fleet-bench --until-status COMPLETED)
rss_peak=$(awk '/^VmHWM/ {print $2}' "/proc/$emu_pid/status")
final=$(curl -sS "$url/jobs/fleet-bench")

field() { sed -E "s/.*\"$1\": ?([0-9.]+|null).*/\\1/" <<<"$2"; }
wall=$(field status_reached_after_seconds "$run")
echo "jobctl-emulator fleet benchmark: $things things, timeScale $scale, $conns DescribeJob connections, $(nproc) cores, profile $profile"
echo "| measure | value | target |"
echo "|---|---|---|"
echo "| emulator start with the fleet loaded | $(awk -v a="$started" -v b="$ready" 'BEGIN{printf "%.2f s", b-a}') | |"
echo "| wall time CreateJob -> COMPLETED | ${wall} s | < 30 s |"
echo "| peak RSS of the emulator | $(awk -v k="$rss_peak" 'BEGIN{printf "%.1f MiB", k/1024}') (idle with the fleet: $(awk -v k="$rss_idle" 'BEGIN{printf "%.1f MiB", k/1024}')) | < 300 MiB |"
echo "| DescribeJob calls/s during the rollout | $(field calls_per_second "$run") | >= 5000 |"
echo "| DescribeJob calls/s baseline (idle, same emulator) | $(field calls_per_second "$baseline") | |"
echo
echo "rollout: $run"
echo "baseline: $baseline"
echo "final jobProcessDetails: $(sed -E 's/.*"jobProcessDetails":(\{[^}]*\}).*/\1/' <<<"$final")"
if [ "$wall" = null ]; then
  echo "fleet.sh: the job did not reach COMPLETED within ${max_secs} s" >&2
  exit 1
fi
