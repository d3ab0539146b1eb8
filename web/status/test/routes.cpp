// Every route, the 404s and 405s, content negotiation on /status/, and the
// one catch.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "routes.hpp"

using namespace family::status;
using nlohmann::json;
using std::chrono::seconds;

namespace {

const Time t0 = Clock::from_time_t(1800000000);

View view_at(Time now) {
    View v{{}, now, seconds(30), seconds(6)};
    v.snapshot.checked_at = t0;
    v.snapshot.services = {{"smtp", false, "refused <x>", "", t0, t0}};
    return v;
}

Reply get(const std::string& path, const std::string& accept = "", Time now = t0,
          bool operators = true) {
    return answer({"GET", path, accept, operators}, view_at(now));
}

Reply throws(const Request&, const View&) {
    throw std::runtime_error("secret detail");
}
Reply throws_oddly(const Request&, const View&) {
    throw 42;
}
Reply no_content(const Request&, const View&) {
    return Reply{204, "", "text/plain", {}};
}

std::string header(const Reply& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
        if (n == name) return v;
    return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(status_json_by_default) {
    Reply r = get("/status/");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.content_type == "application/json");
    BOOST_TEST(header(r, "Vary") == "Accept");
    BOOST_TEST(header(r, "Cache-Control") == "no-cache");
    json j = json::parse(r.body);
    BOOST_TEST(j["failing"][0]["service"] == "smtp");
    BOOST_TEST(get("/status/", "*/*").content_type == "application/json");
}

BOOST_AUTO_TEST_CASE(status_html_for_browsers) {
    Reply r = get("/status/", "text/html,application/xhtml+xml,*/*;q=0.8");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.content_type == "text/html; charset=utf-8");
    BOOST_TEST(header(r, "Vary") == "Accept");
    BOOST_TEST(r.body.find("refused &lt;x&gt;") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_public_sees_no_details) {
    View v = view_at(t0);
    v.snapshot.services.push_back({"postgresql", true, "", "PostgreSQL 15.20 (Debian)", t0, t0});
    v.snapshot.services.push_back({"nginx", false, "Couldn't connect to 10.0.0.5", "", t0, t0,
                                   true});
    json mine = json::parse(answer({"GET", "/status/", "", true}, v).body);
    BOOST_TEST(mine["services"][1]["detail"] == "PostgreSQL 15.20 (Debian)");
    BOOST_TEST(mine["failing"][0]["error"] == "refused <x>");
    json theirs = json::parse(answer({"GET", "/status/", ""}, v).body);
    BOOST_TEST(theirs["failing"][0]["service"] == "smtp");
    BOOST_TEST(theirs["failing"][0]["error"] == "failing");
    BOOST_TEST(theirs["services"][1]["status"] == "pass");
    BOOST_TEST(theirs["services"][1]["detail"].is_null());
    BOOST_TEST(theirs["services"][2]["status"] == "starting");
    BOOST_TEST(theirs["services"][2]["detail"] == "not up yet");
    std::string page = answer({"GET", "/status/", "text/html"}, v).body;
    BOOST_TEST(page.find("PostgreSQL 15") == std::string::npos);
    BOOST_TEST(page.find("10.0.0.5") == std::string::npos);
    BOOST_TEST(page.find("refused") == std::string::npos);
    BOOST_TEST(page.find("<th>detail</th>") == std::string::npos);  // nothing to put there
    BOOST_TEST(page.find("<th>error</th>") != std::string::npos);   // "failing"
}

BOOST_AUTO_TEST_CASE(operators_are_on_this_host_and_not_proxied) {
    BOOST_TEST(from_operator("127.0.0.1", false));
    BOOST_TEST(from_operator("::1", false));
    BOOST_TEST(!from_operator("127.0.0.1", true));
    BOOST_TEST(!from_operator("10.89.0.5", false));
    BOOST_TEST(!from_operator("127.0.0.2", false));
}

BOOST_AUTO_TEST_CASE(redirects_to_the_page) {
    for (const char* path : {"/status", "/"}) {
        Reply r = get(path);
        BOOST_TEST(r.status == 301);
        BOOST_TEST(header(r, "Location") == "/status/");
        BOOST_TEST(r.content_type == "application/problem+json");
    }
}

BOOST_AUTO_TEST_CASE(healthz_passes_while_rounds_keep_coming) {
    Reply r = get("/healthz");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.content_type == "application/health+json");
    BOOST_TEST(json::parse(r.body)["status"] == "pass");
    Reply late = get("/healthz", "", t0 + seconds(3600));
    BOOST_TEST(late.status == 503);
    BOOST_TEST(late.content_type == "application/health+json");
    json j = json::parse(late.body);
    BOOST_TEST(j["status"] == "fail");
    BOOST_TEST(j["output"] == "the checks are late: the last round ended 2027-01-15T08:00:00.000Z");
    Reply never = answer({"GET", "/healthz", ""}, View{{}, t0, seconds(30), seconds(6)});
    BOOST_TEST(never.status == 503);
    BOOST_TEST(json::parse(never.body)["output"] ==
               "the checks are late: the last round ended never");
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404) {
    for (const char* path : {"/nope", "/status/x", "/healthz/", "/STATUS/", ""}) {
        Reply r = get(path);
        BOOST_TEST(r.status == 404, path);
        BOOST_TEST(r.content_type == "application/problem+json");
        BOOST_TEST(json::parse(r.body)["status"] == 404);
    }
    Reply post = answer({"POST", "/nope", ""}, View{});
    BOOST_TEST(post.status == 404);
}

BOOST_AUTO_TEST_CASE(other_methods_are_405) {
    for (const char* method : {"POST", "PUT", "DELETE", "HEAD", "PATCH"})
        for (const char* path : {"/status/", "/status", "/", "/healthz"}) {
            Reply r = answer({method, path, ""}, view_at(t0));
            BOOST_TEST(r.status == 405);
            BOOST_TEST(header(r, "Allow") == "GET");
            BOOST_TEST(r.content_type == "application/problem+json");
        }
}

BOOST_AUTO_TEST_CASE(one_catch_hides_the_cause) {
    std::vector<std::string> logged;
    auto log = [&](const std::string& line) { logged.push_back(line); };
    Request request{"GET", "/status/", ""};
    Reply r = respond(request, view_at(t0), log, throws);
    BOOST_TEST(r.status == 500);
    BOOST_TEST(r.content_type == "application/problem+json");
    BOOST_TEST(r.body.find("secret") == std::string::npos);
    BOOST_TEST(json::parse(r.body)["detail"] == "The request failed; the service's log says why.");
    BOOST_TEST(logged.at(0) == "GET /status/ failed: secret detail");
    Reply odd = respond(request, view_at(t0), log, throws_oddly);
    BOOST_TEST(odd.status == 500);
    BOOST_TEST(logged.at(1) == "GET /status/ failed: an exception that is not a std::exception");
    BOOST_TEST(respond(request, view_at(t0), log, no_content).status == 204);
    BOOST_TEST(respond(request, view_at(t0), log).status == 200);  // answer() by default
    BOOST_TEST(logged.size() == 2u);
}
