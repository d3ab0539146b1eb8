// Every request goes through handle(): routing, access and authentication,
// the GET cache and ETags, the one catch that turns every failure into a
// problem+json reply, metrics and the access log.
#include <pistache/peer.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <ctime>

#include "app.hpp"
#include "framing.hpp"

namespace family::web {

namespace Http = Pistache::Http;

namespace {

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> out;
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        out.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// A response header by name: Pistache 0.0.5 does not send raw headers.
class Named : public Http::Header::Header {
  public:
    Named(const char* name, std::string value) : name_(name), value_(std::move(value)) {}
    const char* name() const override { return name_; }
    // Pistache 0.0.5 asks a header's hash only when looking one up by type,
    // which it never does for response headers added by name.
    // LCOV_EXCL_START
    std::uint64_t hash() const override { return std::hash<std::string>{}(name_); }
    // LCOV_EXCL_STOP
    void write(std::ostream& os) const override { os << value_; }

  private:
    const char* name_;
    std::string value_;
};

void set_header(Http::ResponseWriter& response, const char* name, std::string value) {
    response.headers().add(std::make_shared<Named>(name, std::move(value)));
}

bool matches(const Route& r, const std::vector<std::string>& segments,
             std::vector<std::string>& params) {
    if (r.segments.size() != segments.size()) return false;
    params.clear();
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (r.segments[i].front() == '{')
            params.push_back(segments[i]);
        else if (r.segments[i] != segments[i])
            return false;
    }
    return true;
}

std::optional<std::string> header(const Http::Request& request, const char* name) {
    auto raw = request.headers().tryGetRaw(name);
    if (!raw) return std::nullopt;
    return raw->value();
}

bool peer_on_loopback(const Http::Request& request) {
    std::string host = request.address().host();
    return host == "127.0.0.1" || host == "::1";
}

bool loopback(const Http::Request& request) {
    return peer_on_loopback(request) && !header(request, "X-Forwarded-For") &&
           !header(request, "X-Real-IP");
}

// The caller behind an Authorization header, from the session cache or the
// database; nullopt without a header, 401 for a bad or expired token.
std::optional<Caller> authenticate(App& app, const Http::Request& request) {
    std::optional<std::string> auth = header(request, "Authorization");
    if (!auth) return std::nullopt;
    if (auth->rfind("Bearer ", 0) != 0) throw unauthenticated();
    std::optional<std::string> hash = token_hash(auth->substr(7));
    if (!hash) throw unauthenticated();
    if (std::optional<Caller> known = app.sessions.find(*hash)) return known;
    std::uint64_t generation = app.sessions.generation();
    std::optional<Caller> found;
    double seconds = 0;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result r = t.exec_prepared("token_caller", to_hex(*hash));
        if (r.empty()) return;
        found = Caller{r[0][0].as<std::int64_t>(), r[0][1].as<bool>()};
        seconds = r[0][2].as<double>();
    });
    if (!found) throw unauthenticated();
    auto now = Sessions::Clock::now();
    app.sessions.remember(*hash, *found,
                          now + std::chrono::milliseconds(static_cast<long>(seconds * 1000)),
                          generation, now);
    return found;
}

// What a GET's answer depends on: the route, its ids, the query parameters
// routes read (as decoded), and the caller for a per-user route. Anything
// else in the URL changes nothing, so it makes no new entry. nullopt: not
// cacheable (a parameter that is not percent-encoded: the route refuses it).
std::optional<std::string> cache_key(const Route& route, const Call& call) {
    std::string key = route.pattern;
    for (std::size_t i = 0; i < call.params.size(); ++i) key += "|" + std::to_string(call.id(i));
    for (const char* name : {"depth", "limit", "cursor", "q"}) {
        std::optional<std::string> raw = call.request.query().get(name);
        if (!raw) continue;
        std::optional<std::string> value = percent_decode(*raw);
        if (!value) return std::nullopt;
        key += std::string("|") + name + "=" + percent_encode(*value);
    }
    if (route.caching == Caching::PerUser) key += "#" + std::to_string(call.caller->person_id);
    return key;
}

std::string now_iso() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[40];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::snprintf(out + 19, sizeof out - 19, ".%03dZ", static_cast<int>(ms.count()));
    return out;
}

void access_log(const App& app, const Http::Request& request, const std::string& route, int status,
                double seconds, std::size_t bytes, const std::optional<Caller>& caller) {
    nlohmann::json line;
    line["ts"] = now_iso();
    line["method"] = Http::methodString(request.method());
    line["path"] = request.resource();
    line["route"] = route;
    line["status"] = status;
    line["ms"] = seconds * 1000;
    line["bytes"] = bytes;
    line["remote"] = client_address(app, request);
    line["person"] = caller ? nlohmann::json(caller->person_id) : nlohmann::json();
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace

const Caller& Call::user() const {
    if (!caller) throw unauthenticated();
    return *caller;
}

const Caller& Call::staff() const {
    if (!user().is_staff) throw forbidden("Only staff may do this.");
    return *caller;
}

std::int64_t Call::id(std::size_t param) const {
    std::optional<std::int64_t> id = positive_integer(params.at(param));
    if (!id) throw not_found("No such person: ids are positive integers.");
    return *id;
}

Body Call::body(std::initializer_list<std::string_view> fields) const {
    return Body(request.body(), fields);
}

std::optional<std::string> Call::query(const char* name) const {
    std::optional<std::string> raw = request.query().get(name);
    if (!raw) return std::nullopt;
    std::optional<std::string> value = percent_decode(*raw);
    if (!value)
        throw malformed("The query parameter " + std::string(name) + " is not percent-encoded.");
    return value;
}

PageQuery Call::page(char kind, std::size_t fields) const {
    return PageQuery(query("limit"), query("cursor"), kind, fields);
}

Reply page_reply(const Call& call, const std::string& items,
                 const std::optional<std::string>& next) {
    Reply reply;
    reply.body = "{\"items\":[" + items +
                 "],\"next\":" + (next ? "\"" + *next + "\"" : std::string("null")) + "}";
    if (next) {
        std::string url = call.request.resource() + "?";
        for (const char* name : {"q", "depth", "limit"})
            if (std::optional<std::string> v = call.query(name))
                url += std::string(name) + "=" + percent_encode(*v) + "&";
        reply.headers.push_back({"Link", "<" + url + "cursor=" + *next + ">; rel=\"next\""});
    }
    return reply;
}

void App::add(Route route) {
    route.segments = split_path(route.pattern);
    route.name = std::string(Http::methodString(route.method)) + " " + route.pattern;
    routes.push_back(std::move(route));
}

namespace {

bool cors_allowed(const App& app, const std::optional<std::string>& origin) {
    if (!origin) return false;
    std::string o = *origin;
    for (char& ch : o) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const auto& list = app.config.cors_origins;
    return std::find(list.begin(), list.end(), o) != list.end();
}

// OPTIONS PATTERN: which methods the path answers; for a page of an origin
// FAMILY_WEB_CORS_ORIGINS lists, the CORS preflight's answer too.
Reply options(const App& app, const Call& call, const std::string& pattern) {
    std::string methods;
    for (const Route& r : app.routes)
        if (r.pattern == pattern && r.method != Http::Method::Options)
            methods += std::string(Http::methodString(r.method)) + ", ";
    Reply reply{204};
    reply.headers.push_back({"Allow", methods + "OPTIONS"});
    std::optional<std::string> origin = header(call.request, "Origin");
    if (!origin) return reply;
    if (!cors_allowed(app, origin))
        throw forbidden("Pages of " + *origin + " may not call this API.");
    reply.headers.push_back({"Access-Control-Allow-Methods", methods + "OPTIONS"});
    reply.headers.push_back({"Access-Control-Allow-Headers",
                             "Authorization, Content-Type, If-None-Match, Cache-Control"});
    reply.headers.push_back({"Access-Control-Max-Age", "600"});
    return reply;
}

}  // namespace

void add_options_routes(App& app) {
    std::vector<std::string> patterns;
    for (const Route& r : app.routes)
        if (std::find(patterns.begin(), patterns.end(), r.pattern) == patterns.end())
            patterns.push_back(r.pattern);
    for (const std::string& p : patterns)
        app.add({Http::Method::Options, p, Access::Anyone, Caching::None,
                 [&app, p](Call& c) { return options(app, c, p); }});
}

std::string client_address(const App& app, const Http::Request& request) {
    using Proxy = Config::Proxy;
    if (app.config.trust_proxy == Proxy::Any ||
        (app.config.trust_proxy == Proxy::Loopback && peer_on_loopback(request)))
        if (std::optional<std::string> real = header(request, "X-Real-IP")) return *real;
    return request.address().host();
}

bool App::drain(std::chrono::milliseconds deadline) {
    draining = true;
    auto until = std::chrono::steady_clock::now() + deadline;
    while (in_flight > 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return in_flight == 0;
}

void handle(App& app, const Http::Request& request, Http::ResponseWriter response) {
    auto start = std::chrono::steady_clock::now();
    ++app.in_flight;
    std::string route_name = "unmatched";
    std::optional<Caller> caller;
    Reply reply;
    std::string etag;
    try {
        if (app.draining) throw unavailable("The service is shutting down; retry.");
        // A request whose framing the Framer refused (main.cpp): answered,
        // then the connection closes.
        if (request.resource().rfind(Framer::kRefusedPath, 0) == 0) {
            route_name = "refused";
            Framer::Reason r = Framer::refused_reason(request.resource());
            throw Problem(Framer::status(r), Framer::title(r), Framer::why(r));
        }
        if (request.body().size() > kMaxBody)
            throw Problem(413, "Content Too Large", "A request body holds at most 64 KiB.");
        std::vector<std::string> segments = split_path(request.resource()), params;
        const Route* route = nullptr;
        std::string allowed;
        for (const Route& r : app.routes)
            if (matches(r, segments, params)) {
                if (r.method == request.method()) {
                    route = &r;
                    break;
                }
                allowed +=
                    (allowed.empty() ? "" : ", ") + std::string(Http::methodString(r.method));
            }
        if (!route && !allowed.empty()) {
            set_header(response, "Allow", allowed);
            throw Problem(405, "Method Not Allowed", "This resource answers " + allowed + ".");
        }
        if (!route) throw not_found("No such resource.");
        route_name = route->name;
        if (route->access == Access::Loopback && !loopback(request))
            throw forbidden("This resource answers on loopback only.");
        Call call{request, params, std::nullopt};
        if (route->access == Access::User) {
            call.caller = caller = authenticate(app, request);
            call.user();
        }

        std::optional<std::string> key;
        if (route->caching != Caching::None && app.config.cache_seconds > 0)
            key = cache_key(*route, call);
        std::optional<Cached> hit;
        // "Cache-Control: no-cache": the client wants it from the database.
        std::optional<std::string> control = header(request, "Cache-Control");
        if (key && !(control && control->find("no-cache") != std::string::npos))
            hit = app.cache.get(*key);
        if (hit) {
            reply.body = std::move(hit->body);
            etag = std::move(hit->etag);
            if (!hit->link.empty()) reply.headers.push_back({"Link", std::move(hit->link)});
        } else {
            std::uint64_t epoch = app.cache.epoch();
            reply = route->handler(call);
            if (request.method() == Http::Method::Get && reply.status == 200)
                etag = etag_of(reply.body);
            // An answer that depends on who asks (a living person's private
            // fields) is not kept for others.
            if (key && reply.status == 200 && !reply.per_viewer) {
                std::string link;
                for (const auto& [name, value] : reply.headers)
                    if (name == "Link") link = value;
                app.cache.put(*key, {reply.body, etag, link}, reply.persons, epoch);
            }
        }
    } catch (const Problem& p) {
        reply = {p.status, problem_json(p), "application/problem+json", "", {}};
        if (p.retry_after) set_header(response, "Retry-After", std::to_string(p.retry_after));
        if (p.status == 401) set_header(response, "WWW-Authenticate", "Bearer");
    } catch (const std::exception& e) {
        // LCOV_EXCL_START: the safety net. Every failure a test can cause
        // (bad input, database errors, races) is a Problem by then; this
        // catches what would be a bug, so that it is logged, not leaked.
        std::fprintf(stderr, "family-web: %s %s failed: %s\n", Http::methodString(request.method()),
                     request.resource().c_str(), e.what());
        Problem p(500, "Internal Server Error", "The request failed; the service's log says why.");
        reply = {500, problem_json(p), "application/problem+json", "", {}};
        // LCOV_EXCL_STOP
    }

    for (auto& [name, value] : reply.headers) set_header(response, name.c_str(), value);
    // CORS: pages of the listed origins may read the answers (a preflight is
    // answered by options()); for others, nothing changes.
    if (!app.config.cors_origins.empty()) {
        set_header(response, "Vary", "Origin");
        if (std::optional<std::string> origin = header(request, "Origin");
            cors_allowed(app, origin)) {
            set_header(response, "Access-Control-Allow-Origin", *origin);
            set_header(response, "Access-Control-Expose-Headers",
                       "ETag, Link, Location, Retry-After, WWW-Authenticate");
        }
    }
    if (!etag.empty()) {
        set_header(response, "ETag", etag);
        set_header(response, "Cache-Control", "private, no-cache");
        std::optional<std::string> match = header(request, "If-None-Match");
        if (match && etag_matches(*match, etag)) {
            reply.status = 304;
            reply.body.clear();
        }
    }
    if (!reply.location.empty()) response.headers().add<Http::Header::Location>(reply.location);
    std::size_t bytes = reply.body.size();
    // send() runs on the connection's own thread: the reply goes to the
    // socket now (a small one fits its buffer), so the request is no longer
    // in flight once send() returns (see drain()). Pistache does not resolve
    // the promise of a write to a client that went away: no count on it.
    // A refused framing: the rest of what the client sent cannot be read, so
    // the connection ends once the answer is written (shutdown: Pistache
    // then sees the close and lets the connection go).
    std::weak_ptr<Pistache::Tcp::Peer> closing;
    if (route_name == "refused") closing = response.peer();
    auto sent = reply.status == 204 || reply.status == 304
                    ? response.send(static_cast<Http::Code>(reply.status))
                    : response.send(static_cast<Http::Code>(reply.status), reply.body,
                                    Http::Mime::MediaType::fromString(reply.content_type));
    if (!closing.expired())
        sent.then(
            [closing](ssize_t) {
                if (auto peer = closing.lock()) ::shutdown(peer->fd(), SHUT_RDWR);
            },
            Pistache::Async::IgnoreException);
    --app.in_flight;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    app.metrics.observe(route_name, reply.status, seconds);
    if (app.config.access_log)
        access_log(app, request, route_name, reply.status, seconds, bytes, caller);
}

}  // namespace family::web
