-- POST the JSON body BENCH_BODY to the paths listed in the file BENCH_PATHS_FILE (one a
-- line), in turn; each thread starts at a different line. Requests are built once, in init().
-- bench/run.py sends Validate User Password this way, cycling over users it made first.

package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local requests = {}
local next_index = 1

function init(_args)
  local headers = common.headers({ ["Content-Type"] = "application/json" })
  local body = os.getenv("BENCH_BODY")
  for path in io.lines(os.getenv("BENCH_PATHS_FILE")) do
    if path ~= "" then
      table.insert(requests, wrk.format("POST", path, headers, body))
    end
  end
  if #requests == 0 then
    error("post.lua: BENCH_PATHS_FILE lists no path")
  end
  next_index = (thread_index * 7) % #requests + 1
end

function request()
  local req = requests[next_index]
  next_index = next_index % #requests + 1
  return req
end
