-- wrk: POST /api/children as one partner of a couple, keep-alive, bearer
-- token. Settings from the environment: BENCH_TOKEN, BENCH_FATHER,
-- BENCH_MOTHER (the caller is one of them, the other its current partner).
wrk.method = "POST"
wrk.path = "/api/children"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["Connection"] = "keep-alive"  -- Pistache 0.0.5 closes the connection otherwise
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
    '{"first_name":"Bench","last_name":"Child","father_id":%s,"mother_id":%s,' ..
    '"father_rank":3,"mother_rank":4}', os.getenv("BENCH_FATHER"), os.getenv("BENCH_MOTHER"))
