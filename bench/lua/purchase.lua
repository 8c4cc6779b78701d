-- POST /v2/transactions (or BENCH_PATH: the bare app's /ping) with a purchase of a random
-- loaded customer (ids BENCH_FIRST_ID to BENCH_LAST_ID) on every request: a bill number
-- never sent before ("P", the run BENCH_RUN so a warm-up and the measured run never
-- collide, the thread and a counter) and an amount from 10.00 to 5,000.00.

package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local path = os.getenv("BENCH_PATH") or "/v2/transactions"
local run = tonumber(os.getenv("BENCH_RUN") or "0")
local first_id = tonumber(os.getenv("BENCH_FIRST_ID") or "1")
local last_id = tonumber(os.getenv("BENCH_LAST_ID") or "1")
local headers = common.headers({ ["Content-Type"] = "application/json" })
local counter = 0

function init(_args)
  math.randomseed(run * 1000 + thread_index + 1)
end

function request()
  counter = counter + 1
  local cents = math.random(1000, 500000)
  local body = string.format(
    '{"type":"REGULAR","billNumber":"P%d-%d-%d","billAmount":%d.%02d,"customer":{"id":%d}}',
    run, thread_index, counter, math.floor(cents / 100), cents % 100, math.random(first_id, last_id))
  return wrk.format("POST", path, headers, body)
end
