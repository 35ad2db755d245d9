-- wrk script for bench/ingest.py: every request POSTs one new event (unique client id).
-- args: token, number of learners, occurred_at, run prefix
local counter = 0
local made = 0

function setup(thread)
  made = made + 1
  thread:set("tid", made)
end

function init(args)
  token, learners, occurred_at, prefix = args[1], tonumber(args[2]), args[3], args[4]
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"id":"%s-%d-%d","learner":"bench-%d","kind":"activity","occurred_at":"%s","duration_seconds":60}',
    prefix, tid, counter, (counter * 7 + tid) % learners, occurred_at)
  return wrk.format("POST", "/api/v1/events", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format('WRK_RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
