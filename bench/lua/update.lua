-- PUT the paths listed in the file BENCH_PATHS_FILE (one a line), in turn, each with a new
-- first name, so every request really changes the customer: "Tom" then the run (BENCH_RUN,
-- so a warm-up and the measured run never send the same name), the thread and a counter.

package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local run = os.getenv("BENCH_RUN") or "0"
local headers = common.headers({ ["Content-Type"] = "application/json" })
local paths = {}
local next_index = 1
local counter = 0

function init(_args)
  for path in io.lines(os.getenv("BENCH_PATHS_FILE")) do
    if path ~= "" then
      table.insert(paths, path)
    end
  end
  if #paths == 0 then
    error("update.lua: BENCH_PATHS_FILE lists no path")
  end
  next_index = (thread_index * 7) % #paths + 1
end

function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  counter = counter + 1
  local body = string.format(
    '{"profiles":[{"firstName":"Tom%s-%d-%d","lastName":"Sawyer"}]}', run, thread_index, counter)
  return wrk.format("PUT", path, headers, body)
end
