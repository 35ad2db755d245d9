#!/usr/bin/env bash
# Run the realtime and resilience test modules N times in a row and stop at the first failure.
#
#   scripts/repeat_tests.sh [N] [LOG]      (defaults: 20, /tmp/repeat_tests.log)
#
# The backend is the caller's: the embedded default without TEST_DATABASE_URL / TEST_REDIS_URL, or
# PostgreSQL and Redis with them. Each run takes /tmp/quiet.lock (a shared machine's benchmarks run
# between two runs, never during one) and appends its result, duration and load average to LOG;
# a failed run's pytest output is kept beside LOG.
set -u
cd "$(dirname "$0")/.."
runs=${1:-20}
log=${2:-/tmp/repeat_tests.log}
modules=(tests/test_realtime.py tests/test_realtime_feed.py tests/test_realtime_hub.py
  tests/test_realtime_protocol.py tests/test_resilience.py)
backend=${TEST_DATABASE_URL:+postgresql}
echo "# $(date -u +%FT%TZ) $runs runs on ${backend:-embedded}, commit $(git rev-parse --short HEAD)" >>"$log"
for i in $(seq "$runs"); do
  out="$log.run$i"
  start=$(date +%s)
  flock /tmp/quiet.lock nice -n 5 .venv/bin/python -m pytest -q -p no:cacheprovider "${modules[@]}" >"$out" 2>&1
  status=$?
  echo "run $i rc=$status $(($(date +%s) - start))s $(git rev-parse --short HEAD) $(tail -n 1 "$out") |$(uptime)" >>"$log"
  if [ "$status" -ne 0 ]; then
    echo "run $i failed: $out" >&2
    exit "$status"
  fi
  rm -f "$out"
done
echo "all $runs runs passed" >>"$log"
