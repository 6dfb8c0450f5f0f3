-- Replays prepared requests, each once, for `./scripts/bench` (benchmarks/wrk.py writes them).
--   wrk -t T -c C -d D -s replay.lua URL -- FILE NTHREADS [CAPTURE]
-- FILE holds records "METHOD \31 PATH \31 HEADERS \31 BODY \30", HEADERS being "Name: value"
-- lines. Thread k sends records k, k+T, k+2T ... in order; when they run out it starts again
-- (counted as a wrap: the figure then includes repeats). CAPTURE, if given, is a file prefix:
-- each thread appends the bodies of its 2xx answers to CAPTURE.<thread>, one a line (the
-- orders that checkout made, for the create-intent step).
-- done() prints one line "WRKJSON {...}" that benchmarks/wrk.py parses.
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local function parse_headers(text)
  local headers = {}
  for name, value in string.gmatch(text, "([^:\n]+): ([^\n]*)") do
    headers[name] = value
  end
  return headers
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  recs = {}
  local i = 0
  for rec in string.gmatch(data, "([^\30]*)\30") do
    if i % nthreads == tid then
      local method, rest = string.match(rec, "^([^\31]*)\31(.*)$")
      local path_, rest2 = string.match(rest, "^([^\31]*)\31(.*)$")
      local headers, body = string.match(rest2, "^([^\31]*)\31(.*)$")
      if body == "" then body = nil end
      table.insert(recs, wrk.format(method, path_, parse_headers(headers), body))
    end
    i = i + 1
  end
  data = nil
  if args[3] and args[3] ~= "" then
    capture = assert(io.open(args[3] .. "." .. tid, "a"))
    capture:setvbuf("line")
  end
  pos = 0
  wraps = 0
  non2xx = 0
end

function request()
  pos = pos + 1
  if pos > #recs then
    pos = 1
    wraps = wraps + 1
  end
  return recs[pos]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif capture then
    capture:write(string.gsub(body, "\n", " "), "\n")
  end
end

function done(summary, latency, requests)
  local w, n = 0, 0
  for _, t in ipairs(threads) do
    w = w + t:get("wraps")
    n = n + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
      .. '"timeout":%d,"status":%d,"non2xx":%d,"wraps":%d,"p50_us":%d,"p99_us":%d,'
      .. '"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status, n, w,
    latency:percentile(50), latency:percentile(99), latency.max))
end
