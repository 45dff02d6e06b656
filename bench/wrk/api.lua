-- wrk script of bench/run_api.py: one request shape, many callers.
--
--   wrk -t2 -c64 -d10s --latency -s bench/wrk/api.lua URL -- METHOD PATH CALLERS_FILE MODE
--
-- CALLERS_FILE: one caller a line, `<bearer token>\t<form body or empty>`. Thread t of n takes
-- lines t, t+n, t+2n, ... and sends them in turn. MODE `rotate` cycles through them (cache hits);
-- `once` means each line must be used at most once (cache misses): when a thread runs out it starts
-- over, and done() reports how many requests reused a caller (`reused`), so the result can be
-- refused rather than silently mixing hits into a miss figure.
--
-- No `response()` function on purpose: defining one makes wrk hand every response's headers and
-- body to Lua, which costs the client CPU in proportion to the response's size (~10 µs a request
-- for /auth/custom's 1.2 KB answer), taken from the same two cores the server runs on. Failed
-- answers are counted by wrk itself (`summary.errors.status`: status >= 400; the servers here
-- never answer 3xx).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local method, path, mode
local reqs = {}
local i = 0
local wrapped = false
reused = 0

function init(args)
  method, path, mode = args[1], args[2], args[4]
  local me, count = id, 0
  local nthreads = tonumber(args[5]) or 1
  for line in io.lines(args[3]) do
    if count % nthreads == me then
      local token, body = line:match("^([^\t]*)\t?(.*)$")
      local headers = { ["Authorization"] = "Bearer " .. token }
      if body ~= "" then
        headers["Content-Type"] = "application/x-www-form-urlencoded"
      else
        body = nil
      end
      table.insert(reqs, wrk.format(method, path, headers, body))
    end
    count = count + 1
  end
  if #reqs == 0 then
    error("no callers for thread " .. me)
  end
end

function request()
  i = i + 1
  if i > #reqs then
    i = 1
    wrapped = true
  end
  if wrapped and mode == "once" then
    reused = reused + 1
  end
  return reqs[i]
end

function done(summary, latency, requests)
  local reused_total = 0
  for _, t in ipairs(threads) do
    reused_total = reused_total + tonumber(t:get("reused"))
  end
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d " ..
    "socket_errors=%d reused=%d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout, reused_total))
end
