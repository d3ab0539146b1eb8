// The service's settings, its parts, and the routes that are about the
// service itself: health, readiness, metrics, the OpenAPI description and
// the page that renders it.
#include <regex>
#include <thread>

#include "app.hpp"

namespace family::web {

extern const char kOpenApi[];  // web/openapi.json, embedded at build time
extern const char kDocs[];     // web/docs.html
extern const char kTree[];     // web/tree.html, the family tree page

namespace {

// A write's last notification (see Listener::marker).
const Statement sync{"sync", "SELECT pg_notify('family_sync', $1)"};

int number(const std::function<const char*(const char*)>& get, const char* name, int fallback,
           int lo, int hi) {
    const char* v = get(name);
    if (!v || !*v) return fallback;
    std::optional<std::int64_t> n = std::string(v) == "0" ? 0 : positive_integer(v);
    if (!n || *n < lo || *n > hi)
        throw std::invalid_argument(std::string(name) + " must be an integer from " +
                                    std::to_string(lo) + " to " + std::to_string(hi) + " (got \"" +
                                    v + "\")");
    return static_cast<int>(*n);
}

std::string health(bool pass, const nlohmann::json& checks) {
    nlohmann::ordered_json h{{"status", pass ? "pass" : "fail"}, {"serviceId", "family-web"}};
    if (!checks.empty()) h["checks"] = checks;
    return h.dump();
}

Reply ready(App& app) {
    std::string database = "pass", notifications = app.listener.connected() ? "pass" : "fail";
    try {
        app.pool.transact([](pqxx::work& t) { t.exec("SELECT 1"); });
    } catch (const Problem&) {
        database = "fail";
    }
    bool pass = database == "pass" && notifications == "pass";
    return {pass ? 200 : 503,
            health(pass, {{"database:connection", {{{"status", database}}}},
                          {"notifications:connection", {{{"status", notifications}}}}}),
            "application/health+json"};
}

Reply metrics(App& app) {
    std::string out = app.metrics.render();
    CacheStats c = app.cache.stats();
    PoolStats p = app.pool.stats();
    auto gauge = [&](const char* name, const char* type, const char* help, double value) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
               sample(name, "", value);
    };
    gauge("family_cache_hits_total", "counter", "GET cache hits.", double(c.hits));
    gauge("family_cache_misses_total", "counter", "GET cache misses.", double(c.misses));
    gauge("family_cache_invalidations_total", "counter", "Cache entries dropped by a change.",
          double(c.invalidations));
    gauge("family_cache_entries", "gauge", "Entries in the GET cache.", double(c.entries));
    gauge("family_pool_size", "gauge", "Most database connections the pool opens.", double(p.size));
    gauge("family_pool_open", "gauge", "Database connections open.", double(p.open));
    gauge("family_pool_in_use", "gauge", "Database connections serving a request.",
          double(p.in_use));
    gauge("family_pool_waits_total", "counter", "Requests that waited for a connection.",
          double(p.waits));
    gauge("family_pool_timeouts_total", "counter", "Requests that found no connection in time.",
          double(p.timeouts));
    gauge("family_pool_connect_failures_total", "counter", "Failed attempts to connect.",
          double(p.connect_failures));
    gauge("family_db_retries_total", "counter",
          "Transactions run again after a lost race (40001, 40P01) or a broken connection.",
          double(p.retries));
    gauge("family_notifications_connected", "gauge",
          "1 while the notification connection listens (else nothing is cached).",
          app.listener.connected() ? 1 : 0);
    gauge("family_notifications_reconnects_total", "counter",
          "Times the notification connection was lost.", double(app.listener.reconnects()));
    return {200, out, "text/plain; version=0.0.4"};
}

}  // namespace

Config config_from(const std::function<const char*(const char*)>& get) {
    Config c;
    if (const char* v = get("FAMILY_WEB_HOST"); v && *v) c.host = v;
    c.port = static_cast<std::uint16_t>(number(get, "FAMILY_WEB_PORT", c.port, 0, 65535));
    if (const char* v = get("FAMILY_WEB_DSN"); v && *v) c.dsn = v;
    int cpus = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    // Handlers wait for the database on Pistache's threads, and a thread's
    // other connections wait with it: many more threads than connections
    // keep cached GETs flowing while writes wait (bench: 3k → 20k GET/s
    // beside a POST load, 16 threads vs 4).
    c.threads = number(get, "FAMILY_WEB_THREADS", 8 * cpus, 1, 256);
    c.pool = static_cast<std::size_t>(number(get, "FAMILY_WEB_POOL", 2 * cpus, 1, 1000));
    c.pool_wait_ms = number(get, "FAMILY_WEB_POOL_WAIT_MS", c.pool_wait_ms, 1, 60000);
    c.cache_seconds = number(get, "FAMILY_WEB_CACHE_SECONDS", c.cache_seconds, 0, 300);
    c.cache_mb = number(get, "FAMILY_WEB_CACHE_MB", c.cache_mb, 1, 65536);
    c.token_hours = number(get, "FAMILY_WEB_TOKEN_HOURS", c.token_hours, 1, 24 * 30);
    c.access_log = number(get, "FAMILY_WEB_ACCESS_LOG", 1, 0, 1) == 1;
    if (const char* v = get("FAMILY_WEB_TRUST_PROXY"); v && *v) {
        std::string t = v;
        if (t == "all")
            c.trust_proxy = Config::Proxy::Any;
        else if (t == "1")
            c.trust_proxy = Config::Proxy::Loopback;
        else if (t != "0")
            throw std::invalid_argument(
                "FAMILY_WEB_TRUST_PROXY must be 0, 1 (a proxy on loopback)"
                " or all (any peer) (got \"" +
                t + "\")");
    }
    c.drain_seconds = number(get, "FAMILY_WEB_DRAIN_SECONDS", c.drain_seconds, 0, 3600);
    c.import_mb = number(get, "FAMILY_WEB_IMPORT_MB", c.import_mb, 1, 1000);
    c.gedcom_persons = number(get, "FAMILY_WEB_GEDCOM_PERSONS", c.gedcom_persons, 1, 10000000);
    if (const char* v = get("FAMILY_WEB_CORS_ORIGINS"); v && *v) {
        // scheme://host[:port], nothing after: what a browser sends as Origin.
        static const std::regex origin(R"(https?://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:[0-9]{1,5})?)");
        std::string list = v;
        for (std::size_t start = 0; start <= list.size();) {
            std::size_t comma = std::min(list.find(',', start), list.size());
            std::string o = list.substr(start, comma - start);
            o.erase(0, o.find_first_not_of(' '));
            o.erase(o.find_last_not_of(' ') + 1);
            for (char& ch : o) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (!std::regex_match(o, origin))
                throw std::invalid_argument(
                    "FAMILY_WEB_CORS_ORIGINS must be origins such as https://a.example:8443,"
                    " separated by commas (got \"" +
                    o + "\")");
            c.cors_origins.push_back(o);
            start = comma + 1;
        }
    }
    return c;
}

App::App(Config c)
    : config(std::move(c)),
      pool(with_params(config.dsn, {{"application_name", "family-web"}}), config.pool,
           std::chrono::milliseconds(config.pool_wait_ms)),
      cache(std::chrono::seconds(config.cache_seconds), std::size_t(config.cache_mb) << 20),
      sessions(std::chrono::seconds(60)),
      // Keepalives: a server that vanished without a word is noticed within
      // about 20 s (TCP only; a unix socket tells at once).
      listener(with_params(config.dsn, {{"application_name", "family-web-listen"},
                                        {"keepalives_idle", "10"},
                                        {"keepalives_interval", "5"},
                                        {"keepalives_count", "2"}}),
               cache, sessions),
      login_by_email(20, std::chrono::seconds(60)),
      login_by_email_address(5, std::chrono::seconds(60)),
      login_by_address(30, std::chrono::seconds(60)),
      hashes(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
             std::chrono::milliseconds(1000)) {
    add_auth_routes(*this);
    add_person_routes(*this);
    add_couple_routes(*this);
    add_children_routes(*this);
    add_gedcom_routes(*this);
    add_system_routes(*this);
    add_options_routes(*this);
}

void App::hash(const std::function<void()>& body) {
    if (!hashes.run(body)) throw unavailable("Too many password hashes at once; retry shortly.");
}

void App::write(const std::function<void(pqxx::work&)>& body) {
    std::string mark = listener.marker();
    pool.transact([&](pqxx::work& t) {
        body(t);
        sync(t, mark);  // the last notification the write sends
    });
    // Not heard in time (or the listener is down): nothing cached can be
    // trusted to have seen this write.
    if (!listener.wait_for(mark, std::chrono::seconds(1))) {
        cache.clear();
        sessions.clear();
    }
}

void add_system_routes(App& app) {
    app.add({"GET", "/healthz", Access::Anyone, Caching::None, [](Call&) {
                 return Reply{200, health(true, {}), "application/health+json"};
             }});
    app.add(
        {"GET", "/readyz", Access::Anyone, Caching::None, [&app](Call&) { return ready(app); }});
    app.add({"GET", "/metrics", Access::Loopback, Caching::None,
             [&app](Call&) { return metrics(app); }});
    app.add({"GET", "/openapi.json", Access::Anyone, Caching::None, [](Call&) {
                 return Reply{200, kOpenApi};
             }});
    app.add({"GET", "/", Access::Anyone, Caching::None, [](Call&) {
                 return Reply{200, kTree, "text/html; charset=utf-8"};
             }});
    app.add({"GET", "/docs", Access::Anyone, Caching::None, [](Call&) {
                 return Reply{200, kDocs, "text/html; charset=utf-8"};
             }});
}

}  // namespace family::web
