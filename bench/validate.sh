#!/usr/bin/env bash
# Benchmark: `jobctl validate` on N generated manifests (default 10,000), next to check-jsonschema
# validating the same files against the same schema, in the same run. Prints manifests/second and
# peak RSS for both. Needs a release build (built here) and check-jsonschema (installed into
# .venv-bench from requirements-bench.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10000}
out=bench/out/validate
rm -rf "$out" && mkdir -p "$out/jobs"

cargo build --release --quiet -p jobctl
if [ ! -x .venv-bench/bin/check-jsonschema ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
fi

python3 - "$out/jobs" "$count" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    d = os.path.join(root, f"team-{i % 50:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"job-{i:05d}.yaml"), "w") as f:
        f.write(f"""# yaml-language-server: $schema=../../schemas/job.schema.json
apiVersion: jobctl/v1
kind: Job
metadata:
  name: fw-rollout-{i:05d}
spec:
  description: Firmware rollout {i} for team {i % 50}
  targets:
    - thingGroup: fleet-{i % 50:02d}
    - arn:aws:iot:us-west-2:123456789012:thing/bench-{i:05d}
  targetSelection: SNAPSHOT
  document:
    operation: firmware-update
    version: "4.2.{i}"
    url: ${{aws:iot:s3-presigned-url-v2:https://s3.us-west-2.amazonaws.com/fw/build-{i}.bin}}
  presignedUrlConfig: {{roleArn: arn:aws:iam::123456789012:role/JobsS3, expiresInSec: 600}}
  jobExecutionsRolloutConfig: {{maximumPerMinute: 50}}
  abortConfig:
    criteriaList:
      - {{failureType: FAILED, action: CANCEL, thresholdPercentage: 10, minNumberOfExecutedThings: 20}}
  timeoutConfig: {{inProgressTimeoutInMinutes: 60}}
  jobExecutionsRetryConfig: {{criteriaList: [{{failureType: TIMED_OUT, numberOfRetries: 2}}]}}
  tags: {{team: "team-{i % 50:02d}", batch: bench}}
""")
PY

measure() { # label, command...: prints "label seconds peak_rss_kib exit"
  local label=$1; shift
  local tfile; tfile=$(mktemp)
  local start end code=0
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$tfile" "$@" >/dev/null 2>&1 || code=$?
  end=$(date +%s.%N)
  printf '%s %s %s %s\n' "$label" "$(echo "$end - $start" | bc)" "$(tail -n1 "$tfile")" "$code"
  rm -f "$tfile"
}

echo "manifests: $count  machine: $(nproc) cores, $(uname -m)"
jobctl_result=$(measure jobctl target/release/jobctl validate -f "$out/jobs")
# Warm run for jobctl too: the first one also pays for the page cache.
jobctl_result=$(measure jobctl target/release/jobctl validate -f "$out/jobs")
mapfile -t files < <(find "$out/jobs" -name '*.yaml' | sort)
cj_result=$(measure check-jsonschema .venv-bench/bin/check-jsonschema --schemafile schemas/job.schema.json "${files[@]}")

report() {
  read -r label secs rss code <<<"$1"
  printf '%-18s %8.3f s  %10.0f manifests/s  peak RSS %6.1f MiB  exit %s\n' \
    "$label" "$secs" "$(echo "$count / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$code"
}
report "$jobctl_result"
report "$cj_result"
read -r _ js _ _ <<<"$jobctl_result"
read -r _ cs _ _ <<<"$cj_result"
printf 'jobctl is %.1fx faster than check-jsonschema\n' "$(echo "$cs / $js" | bc -l)"
