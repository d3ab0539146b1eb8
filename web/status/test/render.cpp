// /status/ as JSON and as HTML, content negotiation, and the text helpers.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "render.hpp"

using namespace family::status;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const Time t0 = Clock::from_time_t(1800000000) + milliseconds(7);  // 2027-01-15T08:00:00.007Z

Snapshot sample() {
    Snapshot s;
    s.checked_at = t0 + seconds(61);
    s.services = {
        {"postgresql", true, "", "PostgreSQL 15", t0, t0 + seconds(60)},
        {"smtp", false, "cannot connect: <b>refused</b> & \"gone\" 'now'", "", t0 + seconds(30),
         t0 + seconds(60)},
    };
    return s;
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(times_are_utc_with_milliseconds) {
    BOOST_TEST(iso8601(t0) == "2027-01-15T08:00:00.007Z");
    BOOST_TEST(iso8601(Clock::from_time_t(0)) == "1970-01-01T00:00:00.000Z");
    BOOST_TEST(iso8601(Clock::from_time_t(0) - milliseconds(1)) == "1969-12-31T23:59:59.999Z");
}

BOOST_AUTO_TEST_CASE(printable_text) {
    BOOST_TEST(printable("connection failed:\n\tIs the server running?\n") ==
               "connection failed: Is the server running?");
    BOOST_TEST(printable("  a \r\n\x01 b\x7f") == "a b");
    BOOST_TEST(printable("") == "");
    BOOST_TEST(printable("abcdef", 3) == "abc...");
    BOOST_TEST(printable("abc", 3) == "abc");
    // Never half a UTF-8 character: "é" is two bytes.
    BOOST_TEST(printable("a\xc3\xa9z", 2) == "a...");
    BOOST_TEST(printable("\xc3\xa9\xc3\xa9", 3) == "\xc3\xa9...");
}

BOOST_AUTO_TEST_CASE(html_escaping) {
    BOOST_TEST(html_escape("<script>alert('x') & \"y\"</script>") ==
               "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
    BOOST_TEST(html_escape("plain é") == "plain é");
}

BOOST_AUTO_TEST_CASE(browsers_get_html_and_the_rest_json) {
    // Firefox, Chrome and Safari, as they ask for a page.
    BOOST_TEST(wants_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
    BOOST_TEST(
        wants_html("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                   "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"));
    BOOST_TEST(wants_html("application/xhtml+xml"));
    BOOST_TEST(wants_html("TEXT/HTML"));
    BOOST_TEST(wants_html("text/*"));
    BOOST_TEST(wants_html("text/html;level=1;q=0.9, application/json;q=0.5"));
    // curl, scripts, monitoring: JSON.
    BOOST_TEST(!wants_html(""));
    BOOST_TEST(!wants_html("*/*"));
    BOOST_TEST(!wants_html("application/json"));
    BOOST_TEST(!wants_html("application/json, text/html"));  // a tie: JSON
    BOOST_TEST(!wants_html("text/html;q=0.5, application/json"));
    BOOST_TEST(!wants_html("text/html;q=0"));
    BOOST_TEST(!wants_html("text/html;q=0.4, */*;q=0.8"));  // JSON through */* ranks higher
    BOOST_TEST(!wants_html("garbage, ,;q=1"));
    BOOST_TEST(!wants_html("text/plain"));
    BOOST_TEST(wants_html(" text/html ; q=2 "));  // q clamped to 1
}

BOOST_AUTO_TEST_CASE(status_as_json) {
    json j = json::parse(status_json(sample(), seconds(30)));
    BOOST_TEST(j["checked_at"] == "2027-01-15T08:01:01.007Z");
    BOOST_TEST(j["interval_seconds"] == 30);
    BOOST_TEST(j["failing"].size() == 1u);
    BOOST_TEST(j["failing"][0]["service"] == "smtp");
    BOOST_TEST(j["failing"][0]["since"] == "2027-01-15T08:00:30.007Z");
    BOOST_TEST(j["failing"][0]["error"] == "cannot connect: <b>refused</b> & \"gone\" 'now'");
    BOOST_TEST(j["failing"][0].size() == 3u);
    BOOST_TEST(j["services"].size() == 2u);
    json pg = j["services"][0];
    BOOST_TEST(pg["service"] == "postgresql");
    BOOST_TEST(pg["status"] == "pass");
    BOOST_TEST(pg["since"] == "2027-01-15T08:00:00.007Z");
    BOOST_TEST(pg["error"].is_null());
    BOOST_TEST(pg["detail"] == "PostgreSQL 15");
    BOOST_TEST(pg["checked_at"] == "2027-01-15T08:01:00.007Z");
    BOOST_TEST(j["services"][1]["status"] == "fail");
    BOOST_TEST(j["services"][1]["detail"].is_null());
    // Fields in a reader's order.
    std::string text = status_json(sample(), seconds(30));
    BOOST_TEST(text.find("\"checked_at\"") < text.find("\"failing\""));
    BOOST_TEST(text.find("\"failing\"") < text.find("\"services\""));
}

BOOST_AUTO_TEST_CASE(json_before_the_first_round_and_fractional_interval) {
    json j = json::parse(status_json(Snapshot{}, milliseconds(1500)));
    BOOST_TEST(j["checked_at"].is_null());
    BOOST_TEST(j["interval_seconds"] == 1.5);
    BOOST_TEST(j["failing"].is_array());
    BOOST_TEST(j["failing"].empty());
    BOOST_TEST(j["services"].empty());
}

BOOST_AUTO_TEST_CASE(json_survives_bad_utf8) {
    Snapshot s = sample();
    s.services[1].error = "greeting \xff\xfe";
    json j = json::parse(status_json(s, seconds(30)));
    BOOST_TEST(j["failing"][0]["error"] == "greeting \xef\xbf\xbd\xef\xbf\xbd");
}

BOOST_AUTO_TEST_CASE(status_as_html) {
    std::string h = status_html(sample(), seconds(30));
    BOOST_TEST(h.rfind("<!DOCTYPE html>", 0) == 0u);
    BOOST_TEST(has(h, "<meta http-equiv=\"refresh\" content=\"30\">"));
    BOOST_TEST(has(h, "<title>family status: 1 of 2 services failing</title>"));
    BOOST_TEST(has(h, "<p class=\"summary fail\">1 of 2 services failing</p>"));
    BOOST_TEST(has(h, "<td class=\"service fail\">smtp</td>"));
    BOOST_TEST(
        has(h, "<time datetime=\"2027-01-15T08:00:30.007Z\">2027-01-15 08:00:30 UTC</time>"));
    BOOST_TEST(
        has(h, "cannot connect: &lt;b&gt;refused&lt;/b&gt; &amp; &quot;gone&quot; &#39;now&#39;"));
    BOOST_TEST(!has(h, "<b>refused"));
    BOOST_TEST(has(h, "<td class=\"service pass\">postgresql</td>"));
    BOOST_TEST(has(h, "PostgreSQL 15"));
    BOOST_TEST(has(h, "Last checked <time datetime=\"2027-01-15T08:01:01.007Z\">"));
    BOOST_TEST(has(h, "every 30 s"));
    // Self-contained: no external asset, no script.
    BOOST_TEST(!has(h, "src="));
    BOOST_TEST(!has(h, "href="));
    BOOST_TEST(!has(h, "<script"));
    BOOST_TEST(h.find("<h2>Failing</h2>") < h.find("<h2>Passing</h2>"));
}

BOOST_AUTO_TEST_CASE(html_all_pass_one_fails_and_not_yet) {
    Snapshot s = sample();
    s.services[1].pass = true;
    std::string all = status_html(s, milliseconds(1500));
    BOOST_TEST(has(all, "<p class=\"summary pass\">All 2 services pass</p>"));
    BOOST_TEST(!has(all, "<h2>Failing</h2>"));
    BOOST_TEST(has(all, "content=\"2\""));  // refresh rounded up to whole seconds
    BOOST_TEST(has(all, "every 1.5 s"));
    s.services = {s.services[0]};
    s.services[0].pass = false;
    std::string one = status_html(s, seconds(30));
    BOOST_TEST(has(one, "1 of 1 service failing"));
    BOOST_TEST(!has(one, "<h2>Passing</h2>"));
    std::string none = status_html(Snapshot{}, milliseconds(100));
    BOOST_TEST(has(none, "<p class=\"summary fail\">Not checked yet</p>"));
    BOOST_TEST(has(none, "Checks run every 0.1 s"));
    BOOST_TEST(has(none, "content=\"1\""));
}

BOOST_AUTO_TEST_CASE(health_and_problem_documents) {
    json ok = json::parse(health_json(true, ""));
    BOOST_TEST(ok["status"] == "pass");
    BOOST_TEST(ok["serviceId"] == "family-status");
    BOOST_TEST(!ok.contains("output"));
    json late = json::parse(health_json(false, "late"));
    BOOST_TEST(late["status"] == "fail");
    BOOST_TEST(late["output"] == "late");
    json p = json::parse(problem_json(404, "Not Found", "No such resource."));
    BOOST_TEST(p["type"] == "about:blank");
    BOOST_TEST(p["title"] == "Not Found");
    BOOST_TEST(p["status"] == 404);
    BOOST_TEST(p["detail"] == "No such resource.");
}

BOOST_AUTO_TEST_CASE(starting_is_not_failing) {
    Snapshot s = sample();
    s.services[1].starting = true;
    json j = json::parse(status_json(s, seconds(30)));
    BOOST_TEST(j["failing"].empty());
    BOOST_TEST(j["services"][1]["status"] == "starting");
    BOOST_TEST(j["services"][1]["error"].is_null());
    BOOST_TEST(
        j["services"][1]["detail"].get<std::string>().rfind("not up yet: cannot connect", 0) == 0);
    std::string h = status_html(s, seconds(30));
    BOOST_TEST(has(h, "<p class=\"summary starting\">1 of 2 services starting</p>"));
    BOOST_TEST(!has(h, "<h2>Failing</h2>"));
    BOOST_TEST(h.find("<h2>Starting</h2>") < h.find("<h2>Passing</h2>"));
    // A real failure wins the summary.
    s.services.push_back({"web", false, "HTTP 503", "", t0, t0 + seconds(60)});
    std::string both = status_html(s, seconds(30));
    BOOST_TEST(has(both, "1 of 3 services failing"));
    BOOST_TEST(has(both, "<h2>Starting</h2>"));
    // Nothing passing: no Passing table.
    s.services.erase(s.services.begin());
    BOOST_TEST(!has(status_html(s, seconds(30)), "<h2>Passing</h2>"));
}
