-- wrk: GET /api/persons/{id} over a set of ids, keep-alive, bearer token.
-- Settings from the environment: BENCH_TOKEN, BENCH_IDS ("1,2,3"). The
-- requests are built once per thread and cycled, so that the client's work
-- per request is the same whatever server answers.
local requests, n, i = {}, 0, 0
local threads = 0

function setup(thread)
    thread:set("offset", threads * 7919)
    threads = threads + 1
end

function init(args)
    local headers = {
        ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
        ["Connection"] = "keep-alive",  -- Pistache 0.0.5 closes the connection otherwise
    }
    for id in string.gmatch(os.getenv("BENCH_IDS"), "%d+") do
        n = n + 1
        requests[n] = wrk.format("GET", "/api/persons/" .. id, headers)
    end
    -- Each thread starts at a different place in the list.
    i = (offset or 0) % n
end

function request()
    i = i % n + 1
    return requests[i]
end
