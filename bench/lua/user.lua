-- POST /user (Create User, or BENCH_PATH) with the seed's typical body (004's Create User
-- request without security, address and the rest: personal info, one email, one phone,
-- preferences, a currency) and a new email and phone on every request.
--
-- Request n of a thread is serial = thread slice start + n: the email is
-- "marcos.collier.R<serial, 6 digits>@example.com" and the phone "+1306" (Saskatchewan),
-- then R + 2 (a valid exchange digit) and the serial's 6 digits, R being the run
-- (BENCH_RUN, so a warm-up and the measured run never collide). bench/run.py's user_body()
-- builds the same body for its probes and the Get User users.
--
-- With BENCH_SECURITY (a JSON object: password, security code, two questions and answers)
-- the body carries it as `security`, so every request hashes its four secrets (argon2id).

package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

setup, response, done = common.setup, common.response, common.done

local path = os.getenv("BENCH_PATH") or "/user"
local run = tonumber(os.getenv("BENCH_RUN") or "0")
local slice = math.floor(1000000 / tonumber(os.getenv("BENCH_THREADS") or "1"))
local headers = common.headers({ ["Content-Type"] = "application/json" })
local security = os.getenv("BENCH_SECURITY")
local tail = "}"
if security and security ~= "" then
  tail = ',"security":' .. security .. "}"
end
local counter = 0
local first

function init(_args)
  first = thread_index * slice
end

function request()
  counter = counter + 1
  if counter >= slice then
    error("user.lua: this thread has used up its emails and phones; run shorter")
  end
  local serial = string.format("%d%06d", run, first + counter)
  local phone = string.format("+1306%d%06d", run + 2, first + counter)
  local body = '{"personal_info":{"title":"1","first_name":"Marcos","last_name":"Collier",' ..
    '"gender":"1"},"email":[{"address":"marcos.collier.' .. serial .. '@example.com",' ..
    '"verification_status":"1","is_primary":"1"}],"phone":[{"type":"1","country_code":"840",' ..
    '"number":"' .. phone .. '","verification_status":"0","is_primary":1}],' ..
    '"preferences":{"preferred_language_code":"en","enable_facebook_account":"1",' ..
    '"enable_promotion_notification":"1","enable_email_notification":"1",' ..
    '"enable_sms_notification":"1","enable_push_notification":"1","time_zone":"UTC +10:00",' ..
    '"enable_device_authentication":"0"},"currency":[{"code":"USD"}]' .. tail
  return wrk.format("POST", path, headers, body)
end
