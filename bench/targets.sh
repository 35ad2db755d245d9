#!/usr/bin/env bash
# Every benchmark behind issue 15's targets, one after the other on one machine, each log kept.
#
# Why: the targets (ingest, reads at 100k / 10M / 50M rows, sweeps at 10k / 100k / 1M learners, the daily task at
# 1M, growth) were measured by different sessions on different VMs; this runs them all on one commit and one VM,
# in an order where each database is built once. Run it on a quiet machine: nothing else should use the CPU.
#
# Usage: bench/targets.sh [OUT_DIR]   (about an hour on a 2-core VM; ~20 GB of PostgreSQL data)
# Settings (environment): PG (default postgresql://postgres@127.0.0.1:5432), PREFIX (database names, default
# targets), REDIS (a Redis server the runs may flush databases of, default redis://127.0.0.1:6397),
# STEPS (which of build,ingest,reads,sweeps,daily,growth to run, default all; sweeps1m: only the 1M sweeps).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/learnpulse-targets}
PG=${PG:-postgresql://postgres@127.0.0.1:5432}
PREFIX=${PREFIX:-targets}
REDIS=${REDIS:-redis://127.0.0.1:6397}
STEPS=${STEPS:-build,ingest,reads,sweeps,daily,growth}
PY=.venv/bin/python
mkdir -p "$OUT"

step() { [[ ",$STEPS," == *",$1,"* ]]; }
stamp() { echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg): $*" | tee -a "$OUT/steps.log"; }
FAILED=""
# run LOG COMMAND...: the command's output in $OUT/LOG.log, its start and end in steps.log; a failure is recorded
# and the later steps still run (the script exits 1 at the end)
run() {
  local log=$1
  shift
  stamp "start $log: $*"
  if "$@" >"$OUT/$log.log" 2>&1; then stamp "done $log"; else stamp "FAILED $log (exit $?)"; FAILED="$FAILED $log"; fi
}
fresh_db() { psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"; }

if step build; then
  run build_10k $PY bench/big_load.py --database-url "$PG/${PREFIX}_10k" --learners 10000 --events-per-learner 100 --fresh
  run build_100k $PY bench/big_load.py --database-url "$PG/${PREFIX}_100k" --learners 100000 --events-per-learner 100 --fresh
  run build_1m $PY bench/big_load.py --database-url "$PG/${PREFIX}_1m" --learners 1000000 --events-per-learner 50 --fresh
  for size in 100000 10000000; do
    fresh_db "${PREFIX}_reads_$size"
    run "build_reads_$size" $PY bench/reads.py --build-only --events $size \
      --database-url "$PG/${PREFIX}_reads_$size" --redis-url "$REDIS/2"
  done
fi

if step ingest; then
  fresh_db "${PREFIX}_ingest"
  for i in 1 2 3; do
    run "ingest_$i" $PY bench/ingest.py --database-url "$PG/${PREFIX}_ingest" --redis-url "$REDIS/14" --batches 60
  done
fi

if step reads; then
  for size in 100000 10000000; do
    db="$PG/${PREFIX}_reads_$size"
    run "reads_$size" $PY bench/reads.py --reuse --runs 200 --web-processes 2 --database-url "$db" --redis-url "$REDIS/2"
    run "reads_lean_$size" $PY bench/reads_lean.py --seconds 8 --database-url "$db" --redis-url "$REDIS/2"
  done
  run reads_50m $PY bench/reads.py --existing --runs 200 --web-processes 2 --database-url "$PG/${PREFIX}_1m" --redis-url "$REDIS/2"
  run reads_lean_50m $PY bench/reads_lean.py --existing --seconds 8 --database-url "$PG/${PREFIX}_1m" --redis-url "$REDIS/2"
fi

flush() { redis-cli -u "$1" flushdb >/dev/null; }  # an interrupted run's queued shard tasks must not be counted

if step sweeps; then  # 10k and 100k: against the full rescan, in one run; 1M: digests built first, a kind per run
  for size in 10k 100k; do
    flush "$REDIS/3"
    run "sweeps_$size" $PY bench/incremental_sweep.py --database-url "$PG/${PREFIX}_$size" --redis-url "$REDIS/3" \
      --repeats 5 --baseline-repeats 3
  done
fi
if step sweeps || step sweeps1m; then
  DATABASE_URL="$PG/${PREFIX}_1m" REDIS_URL="$REDIS/6" SECRET_KEY=bench-targets-secret-key-of-32-characters \
    run digests_1m .venv/bin/flask --app wsgi monitoring digests
  for sweep in performance engagement; do
    flush "$REDIS/6"
    run "sweeps_1m_$sweep" $PY bench/incremental_sweep.py --database-url "$PG/${PREFIX}_1m" --redis-url "$REDIS/6" \
      --phases digests --sweeps $sweep --repeats 3 --check-shards 1
  done
fi

if step daily; then
  flush "$REDIS/3"
  run daily_1m $PY -u bench/daily.py --database-url "$PG/${PREFIX}_1m" --redis-url "$REDIS/3" --worker --worker-runs 2
fi

if step growth; then
  run growth $PY bench/growth.py "$PG/${PREFIX}_10k" "$PG/${PREFIX}_100k" "$PG/${PREFIX}_1m" --reads 200 --batches 40
  run ingest_grown $PY bench/ingest_grown.py "$PG/${PREFIX}_10k" "$PG/${PREFIX}_100k" "$PG/${PREFIX}_1m" --batches 40 \
    --redis-url "$REDIS/13" --prewarm
fi
stamp "all done; logs in $OUT${FAILED:+; FAILED:$FAILED}"
[[ -z "$FAILED" ]]
