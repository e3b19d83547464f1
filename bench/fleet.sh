#!/usr/bin/env bash
# One SNAPSHOT job over a simulated fleet (100,000 things at timeScale 1000 by default) on
# jobctl-emulator: wall time from CreateJob to COMPLETED, peak RSS of the emulator, and
# DescribeJob calls/s with their median and 99th-percentile latency measured during the
# rollout, while the engine catches up; the idle line is DescribeJob on the same emulator
# before the rollout starts (fleet loaded, nothing running). The load generator is
# emulator/examples/describe_load.rs (keep-alive HTTP/1.1, one client thread). Loopback only;
# every phase is bounded in time.
#
# BENCH_BASELINE_BIN=path runs the same scenario first on another emulator binary (e.g. one
# built from an older commit), so both rows come from the same run on the same machine.
#
#   bench/fleet.sh                                  # 100,000 things, timeScale 1000, release build
#   BENCH_THINGS=100000 BENCH_TIME_SCALE=10000 bench/fleet.sh
#   BENCH_PROFILE=dev bench/fleet.sh               # the debug build the tests use
#   BENCH_NO_BUILD=1 bench/fleet.sh                # use the binaries already built
#   BENCH_EMULATOR_BIN=... BENCH_LOAD_BIN=...      # binaries from elsewhere (implies no build)
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

if [ -z "${BENCH_NO_BUILD:-}${BENCH_EMULATOR_BIN:-}${BENCH_LOAD_BIN:-}" ]; then
  cargo build --quiet --profile "$profile" -p jobctl-emulator --bin jobctl-emulator --example describe_load
fi
load=${BENCH_LOAD_BIN:-$target/examples/describe_load}
emu_bin=${BENCH_EMULATOR_BIN:-$target/jobctl-emulator}

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

field() { sed -E "s/.*\"$1\": ?([0-9.]+|null).*/\\1/" <<<"$2"; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f MiB", k/1024}'; }

# run LABEL BINARY: prints one table row and keeps the raw lines in $tmp/raw.
run() {
  local label=$1 bin=$2
  local started ready url rss_idle idle code out rss_peak final wall
  started=$(date +%s.%N)
  "$bin" --listen 127.0.0.1:0 --fleet "$tmp/fleet.yaml" >"$tmp/emu.out" 2>"$tmp/emu.log" &
  emu_pid=$!
  for _ in $(seq 1200); do [ -s "$tmp/emu.out" ] && break; sleep 0.05; done
  url=$(head -1 "$tmp/emu.out" | sed 's/^listening on //')
  [ -n "$url" ] || { echo "fleet.sh: the emulator did not start" >&2; cat "$tmp/emu.log" >&2; exit 1; }
  ready=$(date +%s.%N)
  rss_idle=$(awk '/^VmRSS/ {print $2}' "/proc/$emu_pid/status")

  # Idle: DescribeJob on the emulator with the fleet loaded and one small job.
  idle=$("$load" --url "$url" --seconds "$baseline_secs" --connections "$conns" --setup)

  # The run: one job over the whole fleet at the default rate (1000 a minute), DescribeJob
  # load until a response shows it COMPLETED.
  local arn="arn:aws:iot:us-east-1:123456789012:thinggroup/Bench"
  code=$(curl -sS -o "$tmp/create.json" -w '%{http_code}' -X PUT "$url/jobs/fleet-bench" \
    -H 'Content-Type: application/json' \
    -d "{\"targets\":[\"$arn\"],\"document\":\"{\\\"firmware\\\":\\\"1.0\\\"}\"}")
  [ "$code" = 200 ] || { echo "fleet.sh: CreateJob answered $code: $(cat "$tmp/create.json")" >&2; exit 1; }
  out=$("$load" --url "$url" --seconds "$max_secs" --connections "$conns" --job fleet-bench --until-status COMPLETED)
  rss_peak=$(awk '/^VmHWM/ {print $2}' "/proc/$emu_pid/status")
  final=$(curl -sS "$url/jobs/fleet-bench")
  kill "$emu_pid" 2>/dev/null || true
  wait "$emu_pid" 2>/dev/null || true
  emu_pid=
  wall=$(field status_reached_after_seconds "$out")
  echo "| $label | $(awk -v a="$started" -v b="$ready" 'BEGIN{printf "%.2f s", b-a}') | ${wall} s | $(mib "$rss_peak") ($(mib "$rss_idle") idle) | $(field calls_per_second "$out") | $(field p50_ms "$out") ms | $(field p99_ms "$out") ms | $(field calls_per_second "$idle") / $(field p50_ms "$idle") ms |"
  {
    echo "$label rollout: $out"
    echo "$label idle: $idle"
    echo "$label final jobProcessDetails: $(sed -E 's/.*"jobProcessDetails":(\{[^}]*\}).*/\1/' <<<"$final")"
  } >>"$tmp/raw"
  if [ "$wall" = null ]; then
    echo "fleet.sh: $label: the job did not reach COMPLETED within ${max_secs} s" >>"$tmp/raw"
  fi
}

echo "jobctl-emulator fleet benchmark: $things things, timeScale $scale, $conns DescribeJob connections, $(nproc) cores, profile $profile"
echo "| emulator | start with the fleet | CreateJob -> COMPLETED | peak RSS | DescribeJob calls/s during the rollout | p50 | p99 | idle calls/s / p50 |"
echo "|---|---|---|---|---|---|---|---|"
: >"$tmp/raw"
if [ -n "${BENCH_BASELINE_BIN:-}" ]; then
  run baseline "$BENCH_BASELINE_BIN"
fi
run "${BENCH_LABEL:-this build}" "$emu_bin"
echo
cat "$tmp/raw"
if grep -q 'did not reach COMPLETED' "$tmp/raw"; then
  exit 1
fi
