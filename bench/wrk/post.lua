-- wrk script: POST the JSON body in $WRK_BODY with the bearer key in $WRK_KEY, then print
-- one JSON line of results (latencies in microseconds) for bench/harness.py to parse.

wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("WRK_KEY")
if key and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end

-- With $WRK_STAGGER_MS set, each connection sends its first request at its own point of that
-- span, evenly spread: independent clients do not all fire in the same millisecond, and
-- against a constant-latency upstream a lockstep start would keep every connection in one
-- wave (and each wave queued behind itself) for the whole run. Later requests go at once.
local stagger_ms = tonumber(os.getenv("WRK_STAGGER_MS") or "0")
if stagger_ms > 0 then
  local connections = tonumber(os.getenv("WRK_CONNECTIONS"))
  local threads = tonumber(os.getenv("WRK_THREADS"))
  local threads_set_up = 0

  function setup(thread)
    thread:set("thread_index", threads_set_up)
    threads_set_up = threads_set_up + 1
  end

  local started = 0  -- this thread's connections that have had their first delay
  function delay()
    local slot = started * threads + thread_index
    if slot >= connections then
      return 0
    end
    started = started + 1
    return math.floor(slot * stagger_ms / connections)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99)))
end
