-- POST the JSON bodies listed in the file BENCH_BODIES_FILE (one a line) to BENCH_PATH, in
-- turn; each thread starts at a different line. Requests are built once, in init().

package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local requests = {}
local next_index = 1

function init(_args)
  local path = os.getenv("BENCH_PATH")
  local headers = common.headers({ ["Content-Type"] = "application/json" })
  for body in io.lines(os.getenv("BENCH_BODIES_FILE")) do
    if body ~= "" then
      table.insert(requests, wrk.format("POST", path, headers, body))
    end
  end
  if #requests == 0 then
    error("bodies.lua: BENCH_BODIES_FILE lists no body")
  end
  next_index = (thread_index * 7) % #requests + 1
end

function request()
  local req = requests[next_index]
  next_index = next_index % #requests + 1
  return req
end
