-- wrk: the request mix of k6/load.js, over the families loadtest.py seeded.
-- Environment:
--   LOADTEST_DATA   the data file the seed wrote (a Lua table, see loadtest.py)
--   LOADTEST_MIX    "mixed" (default: reads, children, rank edits, logins) or
--                   "read" (browsing only)
-- Each thread draws a sequence of requests once, in init(), and cycles
-- through it, so that the client's work per request is the same whichever
-- server answers (nginx or family-web directly). Logins are not in the
-- sequence: each thread logs in once every LOGIN_SECONDS (2 threads: 24 a
-- minute), since the service allows 30 logins a minute per client address
-- and every request here comes from 127.0.0.1.
-- done() prints one line "LOADTEST {json}" that loadtest.py reads.

-- Per 1000 requests (k6/lib/mix.js has the same weights).
local MIXES = {
    mixed = {
        person = 400,       -- GET /api/persons/{id} in the families (1 in 3 with If-None-Match)
        person_cold = 150,  -- GET /api/persons/{id} anywhere in the background genealogy
        ancestors = 100,    -- GET .../ancestors?depth=3
        descendants = 80,   -- GET .../descendants?depth=2
        descendants_all = 20, -- GET .../descendants (the whole line)
        children = 80,      -- GET /api/children (own)
        child = 80,         -- GET /api/children/{id} (own)
        me = 65,            -- GET /api/me
        add_child = 5,      -- POST /api/children
        rank = 20,          -- PATCH /api/children/{id} (1 in 5 on a child with descendants)
    },
    read = {
        person = 550, person_cold = 150, ancestors = 100, descendants = 100,
        children = 50, child = 50,
    },
    lineage = {descendants_all = 1000},  -- the whole line of the persons in data.hot
}
local SEQUENCE = 4096
local LOGIN_SECONDS = 5
local THREADS = tonumber(os.getenv("LOADTEST_THREADS") or "2")  -- wrk -t, as loadtest.py runs it

local threads = {}

function setup(thread)
    thread:set("thread_number", #threads + 1)
    table.insert(threads, thread)
end

counts = {}  -- status -> responses: global, so that done() can read it
local sequence, position = {}, 0
local logins, login_slot = {}, nil

local function pick(list)
    return list[math.random(#list)]
end

local function format(method, path, token, body, extra)
    local headers = {
        ["Connection"] = "keep-alive",  -- Pistache 0.0.5 closes the connection otherwise
    }
    if token then headers["Authorization"] = "Bearer " .. token end
    if body then headers["Content-Type"] = "application/json" end
    for k, v in pairs(extra or {}) do headers[k] = v end
    return wrk.format(method, path, headers, body)
end

local function build(kind, data)
    local u = pick(data.users)
    if kind == "person" then
        local id = pick(data.hot)
        local etag = data.etags[id]
        if etag and math.random(3) == 1 then
            return format("GET", "/api/persons/" .. id, u.token, nil, {["If-None-Match"] = etag})
        end
        return format("GET", "/api/persons/" .. id, u.token)
    elseif kind == "person_cold" then
        local id = data.cold_max > 0 and math.random(data.cold_max) or pick(data.hot)
        return format("GET", "/api/persons/" .. id, u.token)
    elseif kind == "ancestors" then
        local id = (data.cold_max > 0 and math.random(2) == 1) and math.random(data.cold_max)
            or pick(data.hot)
        return format("GET", "/api/persons/" .. id .. "/ancestors?depth=3", u.token)
    elseif kind == "descendants" then
        return format("GET", "/api/persons/" .. pick(data.hot) .. "/descendants?depth=2", u.token)
    elseif kind == "descendants_all" then
        return format("GET", "/api/persons/" .. pick(data.hot) .. "/descendants", u.token)
    elseif kind == "children" then
        return format("GET", "/api/children", u.token)
    elseif kind == "child" then
        return format("GET", "/api/children/" .. pick(u.children), u.token)
    elseif kind == "me" then
        return format("GET", "/api/me", u.token)
    elseif kind == "add_child" then
        local body = string.format(
            '{"first_name":"Load","last_name":"Test","father_id":%d,"mother_id":%d,' ..
            '"father_rank":%d,"mother_rank":%d}',
            u.father, u.mother, math.random(5), math.random(5))
        return format("POST", "/api/children", u.token, body)
    elseif kind == "rank" then
        local child = (u.spine and math.random(5) == 1) and u.spine or pick(u.children)
        local body = string.format('{"%s":%d}', u.rank_field, math.random(5))
        return format("PATCH", "/api/children/" .. child, u.token, body)
    end
    error("unknown request kind " .. kind)
end

function init(args)
    local data = dofile(os.getenv("LOADTEST_DATA"))
    local mix_name = os.getenv("LOADTEST_MIX") or "mixed"
    local mix = MIXES[mix_name] or error("unknown LOADTEST_MIX " .. mix_name)
    math.randomseed(os.time() * 100 + thread_number)
    local kinds, total = {}, 0
    for kind, weight in pairs(mix) do
        total = total + weight
        table.insert(kinds, {kind, total})
    end
    for i = 1, SEQUENCE do
        local r, kind = math.random(total), nil
        for _, k in ipairs(kinds) do
            if r <= k[2] then kind = k[1]; break end
        end
        sequence[i] = build(kind, data)
    end
    position = math.random(SEQUENCE)
    -- Without response(), wrk neither parses headers nor copies bodies into
    -- Lua: for the big bodies of "lineage" the copy would be the bottleneck
    -- (wrk still counts statuses over 399).
    if mix_name == "lineage" then response = nil end
    if mix_name == "mixed" then
        for _, l in ipairs(data.logins) do
            table.insert(logins, format("POST", "/api/auth/token", nil,
                string.format('{"email":"%s","password":"%s"}', l.email, l.password)))
        end
        -- Never in the slot the run starts in: back-to-back runs stay under
        -- one login per slot per thread.
        login_slot = math.floor(os.time() / LOGIN_SECONDS)
    end
end

function request()
    -- At most one login per LOGIN_SECONDS wall-clock slot and thread; the
    -- e-mail follows the slot, so that no account sees more than the 5
    -- attempts a minute the service allows, across back-to-back runs too.
    if login_slot then
        local slot = math.floor(os.time() / LOGIN_SECONDS)
        if slot > login_slot then
            login_slot = slot
            counts.login = (counts.login or 0) + 1
            return logins[(slot * THREADS + thread_number - 1) % #logins + 1]
        end
    end
    position = position % SEQUENCE + 1
    return sequence[position]
end

function response(status, headers, body)
    local key = tostring(status)
    counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
    local statuses, parts = {}, {}
    for _, t in ipairs(threads) do
        for k, v in pairs(t:get("counts") or {}) do statuses[k] = (statuses[k] or 0) + v end
    end
    for k, v in pairs(statuses) do table.insert(parts, string.format('"%s":%d', k, v)) end
    local e = summary.errors
    io.write(string.format(
        'LOADTEST {"requests":%d,"duration_us":%d,"bytes":%d,' ..
        '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f,' ..
        '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
        '"statuses":{%s}}\n',
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency:percentile(99.9), latency.max, latency.mean,
        e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ",")))
end
