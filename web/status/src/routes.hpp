// Every request the status service answers, decided without Pistache so that
// the unit tests see each route, the 404s and 405s, and the one catch.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "board.hpp"

namespace family::status {

struct Request {
    std::string method;  // "GET"
    std::string path;    // without the query
    std::string accept;  // the Accept header, "" if none
    // An operator: a client on this host, not through a proxy. Others see
    // which services fail and since when, not the details (versions, the
    // SMTP greeting, counts, addresses in errors).
    bool operators = false;
};

struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
};

// What the routes read: the states, and what healthz compares them with.
struct View {
    Snapshot snapshot;
    Time now;
    std::chrono::milliseconds interval, deadline;
};

// Whether a request is an operator's: from this host (`peer` a loopback
// address) and not forwarded by a proxy (`forwarded`: it has X-Real-IP or
// X-Forwarded-For).
bool from_operator(const std::string& peer, bool forwarded);

// GET /status/ (JSON or HTML), /status and / (redirects to /status/),
// /healthz; 405 with Allow for another method on those; 404 otherwise.
Reply answer(const Request& request, const View& view);

// `route` (answer, or a stand-in in the tests) with every exception turned
// into a 500 problem+json that says nothing of the cause: the cause goes to
// `log` ("GET /status/ failed: ...").
Reply respond(const Request& request, const View& view,
              const std::function<void(const std::string&)>& log,
              Reply (*route)(const Request&, const View&) = answer);

}  // namespace family::status
