// Every request goes through dispatch(): routing, access and
// authentication, the GET cache and ETags, CORS, and the one catch that
// turns every failure into a problem+json reply. No server in it: the unit
// tests drive it as server.cpp does.
#include <algorithm>
#include <cstdio>
#include <thread>

#include "app.hpp"
#include "framing.hpp"

namespace family::web {

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

bool peer_on_loopback(const Request& request) {
    std::string host = request.peer();
    return host == "127.0.0.1" || host == "::1";
}

bool loopback(const Request& request) {
    return peer_on_loopback(request) && !request.header("X-Forwarded-For") &&
           !request.header("X-Real-IP");
}

// What a GET's answer depends on: the route, its ids, the query parameters
// routes read (as decoded), and the caller for a per-user route. Anything
// else in the URL changes nothing, so it makes no new entry. nullopt: not
// cacheable (a parameter that is not percent-encoded: the route refuses it).
std::optional<std::string> cache_key(const Route& route, const Call& call) {
    std::string key = route.pattern;
    for (std::size_t i = 0; i < call.params.size(); ++i) key += "|" + std::to_string(call.id(i));
    for (const char* name : {"depth", "limit", "cursor", "q"}) {
        std::optional<std::string> raw = call.request.query(name);
        if (!raw) continue;
        std::optional<std::string> value = percent_decode(*raw);
        if (!value) return std::nullopt;
        key += std::string("|") + name + "=" + percent_encode(*value);
    }
    // A per-user answer is about the caller's person (their children).
    if (route.caching == Caching::PerUser)
        key += call.caller->person_id ? "#" + std::to_string(*call.caller->person_id)
                                      : "#account" + std::to_string(call.caller->account_id);
    return key;
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

std::int64_t Call::person() const {
    if (!user().person_id)
        throw forbidden("This account is not a person of the family: it has no family of its own.");
    return *caller->person_id;
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
    std::optional<std::string> raw = request.query(name);
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
    route.name = route.method + " " + route.pattern;
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
        if (r.pattern == pattern && r.method != "OPTIONS") methods += r.method + ", ";
    Reply reply{204};
    reply.headers.push_back({"Allow", methods + "OPTIONS"});
    std::optional<std::string> origin = call.request.header("Origin");
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
        app.add({"OPTIONS", p, Access::Anyone, Caching::None,
                 [&app, p](Call& c) { return options(app, c, p); }});
}

std::string client_address(const App& app, const Request& request) {
    using Proxy = Config::Proxy;
    if (app.config.trust_proxy == Proxy::Any ||
        (app.config.trust_proxy == Proxy::Loopback && peer_on_loopback(request)))
        if (std::optional<std::string> real = request.header("X-Real-IP")) return *real;
    return request.peer();
}

bool App::drain(std::chrono::milliseconds deadline) {
    draining = true;
    auto until = std::chrono::steady_clock::now() + deadline;
    while (in_flight > 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return in_flight == 0;
}

Outcome dispatch(App& app, const Request& request) {
    Outcome out;
    Reply& reply = out.reply;
    std::string etag, allowed;  // allowed: the methods the path answers
    bool wrong_method = false;  // a 405 of routing: Allow lists them
    try {
        if (app.draining) throw unavailable("The service is shutting down; retry.");
        // A request whose framing the Framer refused (main.cpp): answered,
        // then the connection closes.
        if (request.resource().rfind(Framer::kRefusedPath, 0) == 0) {
            out.route = "refused";
            out.close = true;
            Framer::Reason r = Framer::refused_reason(request.resource());
            throw Problem(Framer::status(r), Framer::title(r), Framer::why(r));
        }
        std::vector<std::string> segments = split_path(request.resource()), params;
        std::string method = request.method();
        const Route* route = nullptr;
        for (const Route& r : app.routes)
            if (matches(r, segments, params)) {
                if (r.method == method) {
                    route = &r;
                    break;
                }
                allowed += (allowed.empty() ? "" : ", ") + r.method;
            }
        if (!route && !allowed.empty()) {
            wrong_method = true;
            throw Problem(405, "Method Not Allowed", "This resource answers " + allowed + ".");
        }
        if (!route) throw not_found("No such resource.");
        out.route = route->name;
        if (request.body().size() > route->max_body)
            throw Problem(413, "Content Too Large",
                          "A request body here holds at most " +
                              std::to_string(route->max_body >> 10) + " KiB.");
        if (route->access == Access::Loopback && !loopback(request))
            throw forbidden("This resource answers on loopback only.");
        Call call{request, params, std::nullopt};
        if (route->access == Access::User) {
            call.caller = out.caller = authenticate(app, request);
            call.user();
        }

        std::optional<std::string> key;
        if (route->caching != Caching::None && app.config.cache_seconds > 0)
            key = cache_key(*route, call);
        std::optional<Cached> hit;
        // "Cache-Control: no-cache": the client wants it from the database.
        std::optional<std::string> control = request.header("Cache-Control");
        if (key && !(control && control->find("no-cache") != std::string::npos))
            hit = app.cache.get(*key);
        if (hit) {
            reply.body = std::move(hit->body);
            etag = std::move(hit->etag);
            if (!hit->link.empty()) reply.headers.push_back({"Link", std::move(hit->link)});
        } else {
            std::uint64_t epoch = app.cache.epoch();
            reply = route->handler(call);
            if (method == "GET" && reply.status == 200) etag = etag_of(reply.body);
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
        if (p.retry_after) reply.headers.push_back({"Retry-After", std::to_string(p.retry_after)});
        if (p.status == 401) reply.headers.push_back({"WWW-Authenticate", "Bearer"});
        if (wrong_method) reply.headers.push_back({"Allow", allowed});
    } catch (const std::exception& e) {
        // LCOV_EXCL_START: the safety net. Every failure a test can cause
        // (bad input, database errors, races) is a Problem by then; this
        // catches what would be a bug, so that it is logged, not leaked.
        std::fprintf(stderr, "family-web: %s %s failed: %s\n", request.method().c_str(),
                     request.resource().c_str(), e.what());
        Problem p(500, "Internal Server Error", "The request failed; the service's log says why.");
        reply = {500, problem_json(p), "application/problem+json", "", {}};
        // LCOV_EXCL_STOP
    }

    // CORS: pages of the listed origins may read the answers (a preflight is
    // answered by options()); for others, nothing changes.
    if (!app.config.cors_origins.empty()) {
        reply.headers.push_back({"Vary", "Origin"});
        if (std::optional<std::string> origin = request.header("Origin");
            cors_allowed(app, origin)) {
            reply.headers.push_back({"Access-Control-Allow-Origin", *origin});
            reply.headers.push_back({"Access-Control-Expose-Headers",
                                     "ETag, Link, Location, Retry-After, WWW-Authenticate"});
        }
    }
    if (!etag.empty()) {
        reply.headers.push_back({"ETag", etag});
        reply.headers.push_back({"Cache-Control", "private, no-cache"});
        std::optional<std::string> match = request.header("If-None-Match");
        if (match && etag_matches(*match, etag)) {
            reply.status = 304;
            reply.body.clear();
        }
    }
    if (!reply.location.empty()) reply.headers.push_back({"Location", reply.location});
    return out;
}

}  // namespace family::web
