// dispatch() without a server and without a database: routing, access,
// authentication from the session cache, input checks that come before any
// statement, the GET cache and ETags, CORS, shutdown and refused framing.
// (Everything that reaches the database is tested end to end in tests/web.)
#include <boost/test/unit_test.hpp>

#include <map>

#include "app.hpp"
#include "framing.hpp"

using namespace family::web;

namespace {

struct FakeRequest final : Request {
    std::string verb = "GET", path = "/", content, address = "192.0.2.7";
    std::map<std::string, std::string> headers, params;

    std::string method() const override { return verb; }
    const std::string& resource() const override { return path; }
    const std::string& body() const override { return content; }
    std::string peer() const override { return address; }
    std::optional<std::string> header(const char* name) const override {
        auto it = headers.find(name);
        if (it == headers.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::string> query(const char* name) const override {
        auto it = params.find(name);
        if (it == params.end()) return std::nullopt;
        return it->second;
    }
};

FakeRequest req(std::string verb, std::string path) {
    FakeRequest r;
    r.verb = std::move(verb);
    r.path = std::move(path);
    return r;
}

std::string header(const Outcome& out, const std::string& name) {
    for (const auto& [n, v] : out.reply.headers)
        if (n == name) return v;
    return "";
}

// A service whose database does not exist: the pool fails at once, and the
// listener is never started, so nothing is cached unless a test says so.
struct Service {
    Config config = [] {
        Config c;
        c.dsn = "host=/nonexistent/family-unit-test dbname=none user=none";
        c.pool = 1;
        c.pool_wait_ms = 50;
        c.cors_origins = {"https://family.example"};
        return c;
    }();
    App app{config};

    // A token the session cache knows, for an account.
    std::string login(const Caller& caller) {
        NewToken t = new_token();
        app.sessions.clear(true);
        app.sessions.remember(t.hash, caller, Sessions::Clock::now() + std::chrono::hours(1),
                              app.sessions.generation());
        return "Bearer " + t.token;
    }
};

const Caller kUser{11, 21, false}, kStaff{12, std::nullopt, true};

}  // namespace

BOOST_AUTO_TEST_CASE(dispatch_routes_and_refuses) {
    Service s;
    Outcome out = dispatch(s.app, req("GET", "/healthz"));
    BOOST_TEST(out.reply.status == 200);
    BOOST_TEST(out.route == "GET /healthz");
    BOOST_TEST(out.reply.content_type == "application/health+json");
    BOOST_TEST(!header(out, "ETag").empty());

    out = dispatch(s.app, req("GET", "/nowhere"));
    BOOST_TEST(out.reply.status == 404);
    BOOST_TEST(out.route == "unmatched");
    BOOST_TEST(out.reply.content_type == "application/problem+json");

    out = dispatch(s.app, req("DELETE", "/healthz"));
    BOOST_TEST(out.reply.status == 405);
    BOOST_TEST(header(out, "Allow") == "GET, OPTIONS");

    // /metrics: loopback only, and not through a proxy.
    BOOST_TEST(dispatch(s.app, req("GET", "/metrics")).reply.status == 403);
    FakeRequest local = req("GET", "/metrics");
    local.address = "127.0.0.1";
    out = dispatch(s.app, local);
    BOOST_TEST(out.reply.status == 200);
    BOOST_TEST(out.reply.body.find("family_pool_size 1") != std::string::npos);
    local.headers["X-Real-IP"] = "192.0.2.8";
    BOOST_TEST(dispatch(s.app, local).reply.status == 403);

    // Pages and documents, served from the binary.
    out = dispatch(s.app, req("GET", "/"));
    BOOST_TEST(out.reply.content_type == "text/html; charset=utf-8");
    BOOST_TEST(out.reply.body.find("data-person-id") != std::string::npos);
    BOOST_TEST(dispatch(s.app, req("GET", "/openapi.json")).reply.body.find("\"openapi\"") !=
               std::string::npos);

    FakeRequest big = req("POST", "/api/auth/token");
    big.content.assign(kMaxBody + 1, 'x');
    BOOST_TEST(dispatch(s.app, big).reply.status == 413);

    s.app.draining = true;
    out = dispatch(s.app, req("GET", "/healthz"));
    BOOST_TEST(out.reply.status == 503);
    BOOST_TEST(header(out, "Retry-After") == "1");
}

BOOST_AUTO_TEST_CASE(dispatch_answers_a_refused_framing_and_closes) {
    Service s;
    std::string refused = Framer::refused_request(Framer::kBadLength);
    FakeRequest r = req("GET", refused.substr(4, refused.find(' ', 4) - 4));
    Outcome out = dispatch(s.app, r);
    BOOST_TEST(out.route == "refused");
    BOOST_TEST(out.close);
    BOOST_TEST(out.reply.status == Framer::status(Framer::kBadLength));
}

BOOST_AUTO_TEST_CASE(dispatch_authenticates) {
    Service s;
    Outcome out = dispatch(s.app, req("GET", "/api/me"));
    BOOST_TEST(out.reply.status == 401);
    BOOST_TEST(header(out, "WWW-Authenticate") == "Bearer");
    for (const char* bad : {"Basic dXNlcjpwdw==", "Bearer short", "Bearer !!!!"}) {
        FakeRequest r = req("GET", "/api/me");
        r.headers["Authorization"] = bad;
        BOOST_TEST(dispatch(s.app, r).reply.status == 401, bad);
    }
    // A well-formed token the cache does not know is looked up: no database, 503.
    FakeRequest r = req("GET", "/api/me");
    r.headers["Authorization"] = "Bearer " + new_token().token;
    out = dispatch(s.app, r);
    BOOST_TEST(out.reply.status == 503);
    BOOST_TEST(s.app.pool.stats().connect_failures >= 1);
    // A known one is not: the caller is known, the route's checks come next.
    r.headers["Authorization"] = s.login(kUser);
    r.verb = "POST";
    r.path = "/api/persons";
    out = dispatch(s.app, r);
    BOOST_TEST(out.reply.status == 403);  // not staff
    BOOST_TEST(out.caller->account_id == 11);
    BOOST_TEST(out.route == "POST /api/persons");
}

BOOST_AUTO_TEST_CASE(dispatch_refuses_bad_input_before_the_database) {
    Service s;
    std::string user = s.login(kUser);
    auto get = [&](const std::string& path, std::map<std::string, std::string> params) {
        FakeRequest r = req("GET", path);
        r.headers["Authorization"] = user;
        r.params = std::move(params);
        return dispatch(s.app, r).reply.status;
    };
    BOOST_TEST(get("/api/persons", {{"limit", "0"}}) == 422);
    BOOST_TEST(get("/api/persons", {{"limit", "1001"}}) == 422);
    BOOST_TEST(get("/api/persons", {{"cursor", "not-a-cursor"}}) == 422);
    BOOST_TEST(get("/api/persons", {{"q", "%zz"}}) == 400);
    BOOST_TEST(get("/api/persons", {{"q", std::string(801, 'a')}}) == 422);
    BOOST_TEST(get("/api/persons/0", {}) == 404);
    BOOST_TEST(get("/api/persons/x/ancestors", {}) == 404);
    BOOST_TEST(get("/api/persons/5/ancestors", {{"depth", "0"}}) == 422);
    BOOST_TEST(get("/api/children", {{"cursor", make_cursor('L', {"1", "2", "3"})}}) == 422);

    FakeRequest post = req("PUT", "/api/me/partner-request");
    post.headers["Authorization"] = user;
    post.content = "{\"partner_id\": 21}";
    BOOST_TEST(dispatch(s.app, post).reply.status == 422);  // one's own id
    post.content = "{\"partner_id\": ";
    BOOST_TEST(dispatch(s.app, post).reply.status == 400);
    post.content = "{\"partner_id\": 5, \"extra\": 1}";
    BOOST_TEST(dispatch(s.app, post).reply.status == 422);
}

// Staff who run the service need not be in the family: their account has
// no person, and the routes about one's own family say so.
BOOST_AUTO_TEST_CASE(dispatch_an_account_that_is_not_a_person) {
    Service s;
    std::string staff = s.login(kStaff);
    for (auto [verb, path, body] : {std::tuple{"GET", "/api/children", ""},
                                    {"GET", "/api/children/5", ""},
                                    {"POST", "/api/children", "{}"},
                                    {"PATCH", "/api/children/5", "{}"},
                                    {"PUT", "/api/me/partner-request", "{\"partner_id\": 5}"},
                                    {"DELETE", "/api/me/partner-request", ""},
                                    {"GET", "/api/me/partner-requests", ""},
                                    {"DELETE", "/api/me/relationship", ""}}) {
        FakeRequest r = req(verb, path);
        r.headers["Authorization"] = staff;
        r.content = body;
        Outcome out = dispatch(s.app, r);
        BOOST_TEST(out.reply.status == 403, verb << " " << path);
        BOOST_TEST(out.reply.body.find("not a person") != std::string::npos, out.reply.body);
    }
}

BOOST_AUTO_TEST_CASE(dispatch_serves_the_cache_with_etags) {
    Service s;
    std::string user = s.login(kUser);
    s.app.cache.clear(true);
    s.app.cache.put("/api/persons/{id}|5", {"{\"id\":5}", "\"e5\"", ""}, {5}, s.app.cache.epoch());
    FakeRequest r = req("GET", "/api/persons/5");
    r.headers["Authorization"] = user;
    Outcome out = dispatch(s.app, r);
    BOOST_TEST(out.reply.status == 200);
    BOOST_TEST(out.reply.body == "{\"id\":5}");
    BOOST_TEST(header(out, "ETag") == "\"e5\"");
    BOOST_TEST(header(out, "Cache-Control") == "private, no-cache");
    r.headers["If-None-Match"] = "\"e5\"";
    out = dispatch(s.app, r);
    BOOST_TEST(out.reply.status == 304);
    BOOST_TEST(out.reply.body.empty());
    // "no-cache": from the database (there is none here).
    r.headers["Cache-Control"] = "no-cache";
    BOOST_TEST(dispatch(s.app, r).reply.status == 503);
    // A change of person 5 drops the entry.
    s.app.cache.invalidate(5);
    r.headers.erase("Cache-Control");
    BOOST_TEST(dispatch(s.app, r).reply.status == 503);
}

BOOST_AUTO_TEST_CASE(dispatch_cors) {
    Service s;
    FakeRequest r = req("OPTIONS", "/api/persons");
    Outcome out = dispatch(s.app, r);
    BOOST_TEST(out.reply.status == 204);
    BOOST_TEST(header(out, "Allow") == "POST, GET, OPTIONS");
    BOOST_TEST(header(out, "Access-Control-Allow-Origin").empty());
    r.headers["Origin"] = "https://evil.example";
    BOOST_TEST(dispatch(s.app, r).reply.status == 403);
    r.headers["Origin"] = "https://Family.example";
    out = dispatch(s.app, r);
    BOOST_TEST(out.reply.status == 204);
    BOOST_TEST(header(out, "Access-Control-Allow-Methods") == "POST, GET, OPTIONS");
    BOOST_TEST(header(out, "Access-Control-Allow-Origin") == "https://Family.example");
    BOOST_TEST(header(out, "Vary") == "Origin");
    FakeRequest get = req("GET", "/healthz");
    get.headers["Origin"] = "https://family.example";
    BOOST_TEST(header(dispatch(s.app, get), "Access-Control-Expose-Headers").find("Link") !=
               std::string::npos);
}

// Each statement prepares under its own name, on every connection.
BOOST_AUTO_TEST_CASE(statements_have_distinct_names) {
    std::map<std::string, std::string> seen;
    for (const Statement* s : Statement::all()) {
        BOOST_TEST(seen.count(s->name()) == 0u, s->name());
        seen[s->name()] = s->sql();
    }
    BOOST_TEST(seen.size() >= 30u);
    BOOST_TEST(seen.at("token_caller").find("app.token") != std::string::npos);
}
