-- wrk script for the bench's token and bearer flows (bench/run.mjs starts it).
--
--   wrk ... URL -s oauth.lua -- FLOW POOL_FILE BASIC REDIRECT_URI_ENCODED MARKERS
--
-- FLOW is code | refresh | bearer | introspect. POOL_FILE has one credential per line:
-- for code "CODE VERIFIER", for refresh a refresh token, for bearer and introspect an
-- access token. Codes and refresh tokens are one-time: each request takes the next line,
-- and when the pool runs out the request carries the word "exhausted" (refused by every
-- server) and is counted, so the run is discarded and repeated with a bigger pool.
-- Access tokens are reused round-robin: at the API (bearer) and at the introspection
-- endpoint (RFC 7662, the client asking about its own tokens with client_secret_basic).
--
-- Every response is checked: status 200, every marker (a '|'-separated list of
-- substrings such as "access_token":" ) present in the body, and Cache-Control
-- no-store. done() prints one line "BENCH_JSON {...}" with the counts and latencies.

local requests, n, i = {}, 0, 0
local markers = {}
ok, bad_status, bad_body, bad_cache, exhausted = 0, 0, 0, 0, 0
sample = ""

local exhausted_request

local function token_request(flow, item, basic, redirect)
  local body
  if flow == "code" then
    local code, verifier = item:match("^(%S+) (%S+)$")
    body = "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" .. redirect .. "&code_verifier=" .. verifier
  else
    body = "grant_type=refresh_token&refresh_token=" .. item
  end
  return wrk.format("POST", nil, {
    ["Authorization"] = basic,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function init(args)
  local flow, file, basic, redirect = args[1], args[2], args[3], args[4]
  for m in string.gmatch(args[5] or "", "[^|]+") do markers[#markers + 1] = m end
  -- Requests are built here, not per request: wrk's own advice for fast servers.
  for line in io.lines(file) do
    if #line > 0 then
      n = n + 1
      if flow == "bearer" then
        requests[n] = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. line }, nil)
      elseif flow == "introspect" then
        requests[n] = wrk.format("POST", nil, {
          ["Authorization"] = basic,
          ["Content-Type"] = "application/x-www-form-urlencoded",
        }, "token=" .. line .. "&token_type_hint=access_token")
      else
        requests[n] = token_request(flow, line, basic, redirect)
      end
    end
  end
  bearer = flow == "bearer" or flow == "introspect"
  exhausted_request = token_request(flow, "exhausted exhausted", basic, redirect)
end

function request()
  if bearer then
    i = i % n + 1
    return requests[i]
  end
  i = i + 1
  local r = requests[i]
  if r == nil then
    exhausted = exhausted + 1
    return exhausted_request
  end
  requests[i] = nil -- one-time: let it go
  return r
end

local function note(what, status, body)
  if sample == "" then
    sample = what .. " " .. status .. " " .. string.sub(body or "", 1, 200):gsub('[%c"\\]', "?")
  end
end

local function header(headers, name)
  local v = headers[name]
  if v ~= nil then return v end
  local lower = string.lower(name)
  for k, value in pairs(headers) do
    if string.lower(k) == lower then return value end
  end
  return nil
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    note("status", status, body)
    return
  end
  for _, m in ipairs(markers) do
    if not string.find(body, m, 1, true) then
      bad_body = bad_body + 1
      note("body", status, body)
      return
    end
  end
  local cc = header(headers, "Cache-Control")
  if cc == nil or not string.find(cc, "no-store", 1, true) then
    bad_cache = bad_cache + 1
    note("cache-control", status, tostring(cc))
    return
  end
  ok = ok + 1
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, _)
  local t = { ok = 0, bad_status = 0, bad_body = 0, bad_cache = 0, exhausted = 0 }
  local first = ""
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
    local s = thread:get("sample")
    if first == "" and s ~= nil then first = s end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"ok":%d,"bad_status":%d,"bad_body":%d,"bad_cache":%d,"exhausted":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"sample":"%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max, latency.mean,
    t.ok, t.bad_status, t.bad_body, t.bad_cache, t.exhausted,
    e.connect, e.read, e.write, e.timeout, first))
end
