-- wrk script for bench/ingest.py: every request POSTs one new event (unique client id).
-- args: token, number of learners, occurred_at, run prefix[, kind]: an unknown kind (the request-path floor)
-- is answered 422 after authentication, rate limiting, JSON parsing and validation, with nothing stored
local counter = 0
local made = 0

function setup(thread)
  made = made + 1
  thread:set("tid", made)
end

function init(args)
  token, learners, occurred_at, prefix = args[1], tonumber(args[2]), args[3], args[4]
  kind = args[5] or "activity"
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"id":"%s-%d-%d","learner":"bench-%d","kind":"%s","occurred_at":"%s","duration_seconds":60}',
    prefix, tid, counter, (counter * 7 + tid) % learners, kind, occurred_at)
  return wrk.format("POST", "/api/v1/events", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format('WRK_RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, "errors": %d, "status_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
