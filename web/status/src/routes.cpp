#include "routes.hpp"

#include "render.hpp"

namespace family::status {

namespace {

Reply problem(int status, const std::string& title, const std::string& detail) {
    return {status, problem_json(status, title, detail), "application/problem+json", {}};
}

Reply redirect(const std::string& to) {
    Reply r = problem(301, "Moved Permanently", "The status page is at " + to + ".");
    r.headers.push_back({"Location", to});
    return r;
}

Reply status_page(const Request& request, const View& v) {
    Reply r;
    Snapshot shown = request.operators ? v.snapshot : without_details(v.snapshot);
    if (wants_html(request.accept)) {
        r.body = status_html(shown, v.interval);
        r.content_type = "text/html; charset=utf-8";
    } else {
        r.body = status_json(shown, v.interval);
    }
    // One URL, two representations: caches must key on Accept.
    r.headers = {{"Vary", "Accept"}, {"Cache-Control", "no-cache"}};
    return r;
}

Reply health(const View& v) {
    if (fresh(v.snapshot, v.now, v.interval, v.deadline))
        return {200, health_json(true, ""), "application/health+json", {}};
    std::string last = v.snapshot.checked_at ? iso8601(*v.snapshot.checked_at) : "never";
    std::string output = "the checks are late: the last round ended " + last;
    return {503, health_json(false, output), "application/health+json", {}};
}

}  // namespace

bool from_operator(const std::string& peer, bool forwarded) {
    return !forwarded && (peer == "127.0.0.1" || peer == "::1");
}

Reply answer(const Request& request, const View& view) {
    const std::string& p = request.path;
    if (p != "/status/" && p != "/status" && p != "/" && p != "/healthz")
        return problem(404, "Not Found", "No such resource; the status page is /status/.");
    if (request.method != "GET") {
        Reply r = problem(405, "Method Not Allowed", "This resource answers GET.");
        r.headers.push_back({"Allow", "GET"});
        return r;
    }
    if (p == "/healthz") return health(view);
    if (p != "/status/") return redirect("/status/");
    return status_page(request, view);
}

Reply respond(const Request& request, const View& view,
              const std::function<void(const std::string&)>& log,
              Reply (*route)(const Request&, const View&)) {
    std::string why;
    try {
        return route(request, view);
    } catch (const std::exception& e) {
        why = e.what();
    } catch (...) {
        why = "an exception that is not a std::exception";
    }
    log(request.method + " " + request.path + " failed: " + why);
    return problem(500, "Internal Server Error", "The request failed; the service's log says why.");
}

}  // namespace family::status
