-- wrk script for the NovaCart bench: replays a list of prepared requests and reports a JSON summary.
--
-- Environment (set by bench/run.py):
--   BENCH_REQUESTS     file with one request per line: METHOD \t PATH \t TOKEN|- \t IDEMPOTENCY-KEY|- \t JSON-BODY
--   BENCH_MODE         "cycle" (go round the list until the time is up) or "once" (each line at most once:
--                      checkout, where every request needs a buyer with a full cart)
--   BENCH_CONNECTIONS  the -c value; in "once" mode the thread stops this many lines before the end,
--                      because up to that many requests can still be sent in the loop iteration that stops it
--   BENCH_OUT          where done() writes the summary (JSON)
--
-- Latency percentiles come from wrk's own histogram (per request, microseconds). Errors are every
-- non-2xx response (wrk itself counts only >= 400) plus socket errors (connect, read, write, timeout).

local requests = {}
local count = 0
local index = 0
local once = false
local stop_after = 0
local fallback = nil

-- per-thread tallies, collected by done() through thread:get()
non2xx = 0
statuses = ""
first_error = ""
exhausted = 0
local status_counts = {}

function init(args)
  local path = os.getenv("BENCH_REQUESTS")
  once = os.getenv("BENCH_MODE") == "once"
  local connections = tonumber(os.getenv("BENCH_CONNECTIONS") or "1")
  for line in io.lines(path) do
    if line ~= "" then
      local method, url, token, key, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
      if key ~= "-" then headers["Idempotency-Key"] = key end
      if body ~= "" then
        headers["Content-Type"] = "application/json"
      else
        body = nil
      end
      count = count + 1
      requests[count] = wrk.format(method, url, headers, body)
    end
  end
  stop_after = count - connections
  fallback = wrk.format("GET", "/api/health/")
end

function request()
  index = index + 1
  if index > count then
    if once then
      return fallback -- never reached while stop_after holds back `connections` lines
    end
    index = 1
  end
  return requests[index]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    status_counts[status] = (status_counts[status] or 0) + 1
    local parts = {}
    for code, n in pairs(status_counts) do
      parts[#parts + 1] = code .. ":" .. n
    end
    statuses = table.concat(parts, ",")
    if first_error == "" then
      first_error = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
  if once and index >= stop_after then
    -- wrk's main thread still sleeps for the whole -d duration, so req/s of this run is understated:
    -- run.py warns when this happens (more buyers fix it).
    exhausted = 1
    wrk.thread:stop()
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests_stats)
  local bad, codes, sample, ran_out = 0, {}, "", 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    ran_out = ran_out + (thread:get("exhausted") or 0)
    local s = thread:get("statuses") or ""
    if s ~= "" then codes[#codes + 1] = s end
    local e = thread:get("first_error") or ""
    if sample == "" then sample = e end
  end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local out = io.open(os.getenv("BENCH_OUT"), "w")
  out:write("{")
  out:write('"requests":' .. summary.requests .. ",")
  out:write('"duration_us":' .. summary.duration .. ",")
  out:write('"bytes":' .. summary.bytes .. ",")
  out:write('"p50_us":' .. latency:percentile(50) .. ",")
  out:write('"p90_us":' .. latency:percentile(90) .. ",")
  out:write('"p95_us":' .. latency:percentile(95) .. ",")
  out:write('"p99_us":' .. latency:percentile(99) .. ",")
  out:write('"max_us":' .. latency.max .. ",")
  out:write('"mean_us":' .. latency.mean .. ",")
  out:write('"non2xx":' .. bad .. ",")
  out:write('"socket_errors":' .. socket .. ",")
  out:write('"socket_detail":{"connect":' .. e.connect .. ',"read":' .. e.read .. ',"write":' .. e.write
    .. ',"timeout":' .. e.timeout .. "},")
  out:write('"statuses":' .. json_string(table.concat(codes, ",")) .. ",")
  out:write('"exhausted":' .. ran_out .. ",")
  out:write('"first_error":' .. json_string(sample))
  out:write("}\n")
  out:close()
end
