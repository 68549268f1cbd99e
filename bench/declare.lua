-- wrk script: POST /api/v1/units/{id}/tenancies with a distinct, valid resident ID number per request.
--
--   wrk -t2 -c32 -d15s --latency -s bench/declare.lua http://127.0.0.1:18080 -- \
--       TOKEN UNIT_IDS_FILE MOVE_IN_DATE [RUN]
--
-- TOKEN is an access token of the units' owner, UNIT_IDS_FILE holds unit ids one a line (the requests rotate
-- over them), MOVE_IN_DATE is YYYY-MM-DD (today, local time). RUN (0 to 7, default 0) picks the region code of the
-- generated numbers, so that separate runs against one database (a warm-up, then the measurement) never declare
-- the same person twice in one unit, which the server rightly answers 409. Numbers never collide with those of
-- examples/seed.rs (region 350524).
--
-- Every response's status is counted; the summary lists anything that was not 2xx. A valid run has none.

local REGIONS = { "110105", "310104", "440305", "510107", "420106", "330106", "320102", "500103" }
local WEIGHTS = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 }
local CHECK_CHARS = "10X98765432"
-- 1,000 people share a birth date; birth dates count in days from 1971-01-01 (noon UTC, clear of any edge).
local IDS_PER_BIRTH_DATE = 1000
local FIRST_BIRTH_EPOCH = 365 * 86400 + 12 * 3600
-- Each thread numbers its requests from thread_index * NUMBERS_PER_THREAD (1,000 days of births), so no two
-- requests of a run share a number; a bounded run sends far fewer than this per thread.
local NUMBERS_PER_THREAD = 1000000

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("thread_index", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

-- ISO 7064 MOD 11-2, as the server checks it (src/registry/identity.rs).
local function check_character(first17)
   local sum = 0
   for i = 1, 17 do
      sum = sum + (first17:byte(i) - 48) * WEIGHTS[i]
   end
   local index = sum % 11 + 1
   return CHECK_CHARS:sub(index, index)
end

function init(args)
   local token, units_file, move_in_date, run = args[1], args[2], args[3], tonumber(args[4] or "0")
   if not (token and units_file and move_in_date) then
      error("usage: -s declare.lua URL -- TOKEN UNIT_IDS_FILE MOVE_IN_DATE [RUN]")
   end
   region = REGIONS[(run % #REGIONS) + 1]
   units = {}
   local file = assert(io.open(units_file, "r"))
   for line in file:lines() do
      if line ~= "" then
         table.insert(units, line)
      end
   end
   file:close()
   assert(#units > 0, "no unit ids in " .. units_file)
   headers = {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
   }
   body_head = '{"tenant":{"full_name":"压测","id_type":"resident_id","id_number":"'
   body_tail = '"},"move_in_date":"' .. move_in_date .. '"}'
   sent = 0
   statuses = {}
end

function request()
   local index = thread_index * NUMBERS_PER_THREAD + sent % NUMBERS_PER_THREAD
   sent = sent + 1
   local birth = os.date("!%Y%m%d", FIRST_BIRTH_EPOCH + math.floor(index / IDS_PER_BIRTH_DATE) * 86400)
   local first17 = region .. birth .. string.format("%03d", index % IDS_PER_BIRTH_DATE)
   local number = first17 .. check_character(first17)
   local unit = units[(index % #units) + 1]
   return wrk.format("POST", "/api/v1/units/" .. unit .. "/tenancies", headers, body_head .. number .. body_tail)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local totals = {}
   for _, thread in ipairs(threads) do
      local counted = thread:get("statuses") or {}
      for status, count in pairs(counted) do
         totals[status] = (totals[status] or 0) + count
      end
   end
   local ok, not_ok, detail = 0, 0, {}
   for status, count in pairs(totals) do
      if status >= 200 and status < 300 then
         ok = ok + count
      else
         not_ok = not_ok + count
         table.insert(detail, string.format("%d x%d", status, count))
      end
   end
   table.sort(detail)
   io.write(string.format("declare.lua: %d responses, %d 2xx, %d not 2xx%s\n", ok + not_ok, ok, not_ok,
      #detail > 0 and (" (" .. table.concat(detail, ", ") .. ")") or ""))
end
