-- Replays pre-generated, signed WeChat requests (bench/run.py writes the file).
--
-- Usage: wrk -s bench/wrk_replay.lua URL -- FILE FIRST COUNT THREADS
--   FILE     one request a line: "<path?query>\t<single-line body>"
--   FIRST    0-based index of the first line to use
--   COUNT    how many lines from FIRST to use (0: all remaining lines)
--   THREADS  the -t value, so thread i starts at offset i*COUNT/THREADS
--
-- Each wrk thread runs in its own Lua state: init() loads the lines and formats every
-- request once, request() only indexes the table. response() counts non-200 statuses and
-- 200 bodies that are not an XML reply; done() prints one REPLAY line that run.py parses.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

function init(args)
   local path = assert(args[1], "usage: -- FILE FIRST COUNT THREADS")
   local first = tonumber(args[2] or "0")
   local count = tonumber(args[3] or "0")
   local nthreads = tonumber(args[4] or "1")
   local headers = {["Content-Type"] = "text/xml"}
   items = {}
   local index = 0
   local file = assert(io.open(path, "rb"))
   for line in file:lines() do
      if index >= first and (count == 0 or index < first + count) then
         local tab = line:find("\t", 1, true)
         local target = line:sub(1, tab - 1)
         local body = line:sub(tab + 1)
         items[#items + 1] = wrk.format("POST", target, headers, body)
      end
      index = index + 1
   end
   file:close()
   n = #items
   assert(n > 0, "no requests in " .. path)
   share = math.floor(n / nthreads)
   pos = math.floor(id * n / nthreads) -- 0-based; thread i starts at i*n/threads
   sent = 0
   bad_status = 0
   bad_body = 0
end

function request()
   local req = items[pos + 1]
   pos = (pos + 1) % n
   sent = sent + 1
   return req
end

function response(status, headers, body)
   if status ~= 200 then
      bad_status = bad_status + 1
   elseif not body or not body:find("<xml>", 1, true)
      or not (body:find("<Content>", 1, true) or body:find("<Encrypt>", 1, true)) then
      bad_body = bad_body + 1
   end
end

function done(summary, latency, requests)
   local sent, bad_status, bad_body, repeats = 0, 0, 0, 0
   for _, thread in ipairs(threads) do
      local s = thread:get("sent") or 0
      local share = thread:get("share") or 0
      sent = sent + s
      bad_status = bad_status + (thread:get("bad_status") or 0)
      bad_body = bad_body + (thread:get("bad_body") or 0)
      if s > share then
         repeats = repeats + (s - share)
      end
   end
   io.write(string.format(
      "REPLAY sent=%d completed=%d bad_status=%d bad_body=%d repeats=%d "
         .. "p50_us=%d p99_us=%d duration_us=%d\n",
      sent, summary.requests, bad_status, bad_body, repeats,
      latency:percentile(50.0), latency:percentile(99.0), summary.duration))
end
