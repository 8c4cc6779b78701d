-- POST /v2/customers (or BENCH_PATH: the bare app's /ping) with a new, valid Indian mobile
-- on every request.
--
-- A mobile is "9198" and 8 digits: one digit for the run (BENCH_RUN, so a warm-up and the
-- measured run never collide), then a slice of 10^7 / BENCH_THREADS numbers per wrk thread,
-- walked by a counter.

package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local path = os.getenv("BENCH_PATH") or "/v2/customers"
local run = tonumber(os.getenv("BENCH_RUN") or "0")
local slice = math.floor(10000000 / tonumber(os.getenv("BENCH_THREADS") or "1"))
local headers = common.headers({ ["Content-Type"] = "application/json" })
local counter = 0
local first

function init(_args)
  first = run * 10000000 + thread_index * slice
end

function request()
  counter = counter + 1
  if counter >= slice then
    error("register.lua: this thread has used up its mobile numbers; run shorter")
  end
  local mobile = string.format("9198%08d", first + counter)
  local body = '{"loyaltyInfo":{"loyaltyType":"loyalty"},"profiles":[{"firstName":"Tom",' ..
    '"lastName":"Sawyer","source":"INSTORE","identifiers":[{"type":"mobile","value":"' ..
    mobile .. '"}]}]}'
  return wrk.format("POST", path, headers, body)
end
