-- GET the paths listed in the file BENCH_PATHS_FILE (one a line), in turn; each thread
-- starts at a different line. Requests are built once, in init().

package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local requests = {}
local next_index = 1

function init(_args)
  local headers = common.headers()
  for path in io.lines(os.getenv("BENCH_PATHS_FILE")) do
    if path ~= "" then
      table.insert(requests, wrk.format("GET", path, headers))
    end
  end
  if #requests == 0 then
    error("paths.lua: BENCH_PATHS_FILE lists no path")
  end
  next_index = (thread_index * 7) % #requests + 1
end

function request()
  local req = requests[next_index]
  next_index = next_index % #requests + 1
  return req
end
