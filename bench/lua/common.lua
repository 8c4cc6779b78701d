-- Shared by the wrk scripts of bench/run.py: thread numbering, non-2xx counting and one
-- machine-readable summary line ("BENCH_RESULT {json}") printed when the run ends.
--
-- wrk gives every thread its own Lua state; setup() and done() run in a separate one, which
-- is where the thread handles are kept so done() can read each thread's counters.

local M = {}

local threads = {}

function M.setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

-- Runs in the thread states: the counter is a global of that state, read back by done().
function M.response(status, _headers, _body)
  if status < 200 or status > 299 then
    non2xx = (non2xx or 0) + 1
  end
end

function M.done(summary, latency, _requests)
  local non2xx_total = 0
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,' ..
    '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,' ..
    '"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes, non2xx_total,
    errors.connect, errors.read, errors.write, errors.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end

-- The Authorization header, from BENCH_AUTH (absent for the bare app).
function M.headers(extra)
  local headers = extra or {}
  local auth = os.getenv("BENCH_AUTH")
  if auth and auth ~= "" then
    headers["Authorization"] = auth
  end
  return headers
end

return M
