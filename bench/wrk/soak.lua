-- wrk script of bench/soak.py: a fixed list of whole requests, sent in turn.
--
--   wrk -t2 -c64 -d60s -s bench/wrk/soak.lua URL -- REQUESTS_FILE NTHREADS
--
-- REQUESTS_FILE: one request a line, `METHOD\tPATH\tHEADERS\tBODY`, HEADERS as `name: value`
-- pairs joined by `\31` (unit separator), BODY literal (may be empty). Thread t of n takes lines
-- t, t+n, ... and cycles through them. Failed answers are counted by wrk itself (status >= 400).

local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local reqs = {}
local i = 0

function init(args)
  local nthreads = tonumber(args[2]) or 1
  local count = 0
  for line in io.lines(args[1]) do
    if count % nthreads == id then
      local method, path, hdrs, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)$")
      local headers = {}
      for pair in string.gmatch(hdrs, "[^\31]+") do
        local k, v = pair:match("^([^:]+): ?(.*)$")
        if k then headers[k] = v end
      end
      if body == "" then body = nil end
      table.insert(reqs, wrk.format(method, path, headers, body))
    end
    count = count + 1
  end
  if #reqs == 0 then error("no requests for thread " .. id) end
end

function request()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
