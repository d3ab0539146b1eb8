// The state machine: since-when is kept while a service stays in its state
// and starts over when it changes; what changed is logged.
#include <boost/test/unit_test.hpp>

#include "board.hpp"

using namespace family::status;
using std::chrono::seconds;

namespace {

const Time t0 = Clock::from_time_t(1800000000);

Outcome pass(const std::string& service, Time at, const std::string& detail = "") {
    return {service, true, "", detail, at};
}
Outcome fail(const std::string& service, Time at, const std::string& error) {
    return {service, false, error, "", at};
}
const ServiceState& of(const std::vector<ServiceState>& states, const std::string& service) {
    for (const ServiceState& s : states)
        if (s.service == service) return s;
    throw std::logic_error("no " + service);
}

}  // namespace

BOOST_AUTO_TEST_CASE(first_round_starts_every_since) {
    auto s = next_states(
        {}, {pass("postgresql", t0, "PostgreSQL 15"), fail("smtp", t0 + seconds(1), "refused")});
    BOOST_TEST(s.size() == 2u);
    BOOST_TEST(s[0].service == "postgresql");  // the round's order
    BOOST_TEST(s[0].pass);
    BOOST_TEST(s[0].detail == "PostgreSQL 15");
    BOOST_TEST((s[0].since == t0));
    BOOST_TEST(!s[1].pass);
    BOOST_TEST(s[1].error == "refused");
    BOOST_TEST((s[1].since == t0 + seconds(1)));
    BOOST_TEST((s[1].checked_at == t0 + seconds(1)));
}

BOOST_AUTO_TEST_CASE(since_kept_while_failing_and_reset_when_passing) {
    auto r1 = next_states({}, {fail("smtp", t0, "refused"), pass("web", t0)});
    auto r2 = next_states(
        r1, {fail("smtp", t0 + seconds(30), "timed out"), pass("web", t0 + seconds(30))});
    BOOST_TEST((of(r2, "smtp").since == t0));         // still failing: since kept
    BOOST_TEST(of(r2, "smtp").error == "timed out");  // the latest error
    BOOST_TEST((of(r2, "smtp").checked_at == t0 + seconds(30)));
    BOOST_TEST((of(r2, "web").since == t0));
    auto r3 = next_states(r2, {pass("smtp", t0 + seconds(60)), pass("web", t0 + seconds(60))});
    BOOST_TEST(of(r3, "smtp").pass);
    BOOST_TEST((of(r3, "smtp").since == t0 + seconds(60)));  // passing since the change
    BOOST_TEST(of(r3, "smtp").error.empty());
    auto r4 =
        next_states(r3, {fail("smtp", t0 + seconds(90), "refused"), pass("web", t0 + seconds(90))});
    BOOST_TEST((of(r4, "smtp").since == t0 + seconds(90)));  // failing again: a new since
    BOOST_TEST((of(r4, "web").since == t0));
}

BOOST_AUTO_TEST_CASE(changes_are_logged_once) {
    auto r1 = next_states({}, {fail("smtp", t0, "refused"), pass("web", t0)});
    auto first = changes({}, r1);
    BOOST_TEST(first.size() == 1u);
    BOOST_TEST(first.at(0) == "smtp fails: refused");
    auto r2 = next_states(r1, {fail("smtp", t0, "refused"), pass("web", t0)});
    BOOST_TEST(changes(r1, r2).empty());
    auto r3 = next_states(r2, {pass("smtp", t0), fail("web", t0, "HTTP 503")});
    auto third = changes(r2, r3);
    BOOST_TEST(third.size() == 2u);
    BOOST_TEST(third.at(0) == "smtp passes again");
    BOOST_TEST(third.at(1) == "web fails: HTTP 503");
}

BOOST_AUTO_TEST_CASE(board_records_rounds) {
    Board b;
    BOOST_TEST(!b.snapshot().checked_at);
    BOOST_TEST(b.snapshot().services.empty());
    auto lines = b.record({fail("smtp", t0, "refused")}, t0 + seconds(1));
    BOOST_TEST(lines.size() == 1u);
    b.record({fail("smtp", t0 + seconds(30), "refused")}, t0 + seconds(31));
    Snapshot s = b.snapshot();
    BOOST_TEST((*s.checked_at == t0 + seconds(31)));
    BOOST_TEST((s.services.at(0).since == t0));
}

BOOST_AUTO_TEST_CASE(fresh_while_rounds_keep_coming) {
    Snapshot s;
    auto interval = seconds(30), deadline = seconds(6);
    BOOST_TEST(!fresh(s, t0, interval, deadline));
    s.checked_at = t0;
    BOOST_TEST(fresh(s, t0 + seconds(72), interval, deadline));
    BOOST_TEST(!fresh(s, t0 + seconds(73), interval, deadline));
}

BOOST_AUTO_TEST_CASE(not_up_yet_within_the_grace_is_starting) {
    Time grace_end = t0 + seconds(60);
    // nginx is not up at the first round: starting, nothing logged.
    auto r1 = next_states({}, {fail("nginx", t0, "refused"), pass("web", t0)}, grace_end);
    BOOST_TEST(of(r1, "nginx").starting);
    BOOST_TEST(!of(r1, "web").starting);
    BOOST_TEST(changes({}, r1).empty());
    // It comes up: passing, still nothing to log.
    auto r2 =
        next_states(r1, {pass("nginx", t0 + seconds(2)), pass("web", t0 + seconds(2))}, grace_end);
    BOOST_TEST(!of(r2, "nginx").starting);
    BOOST_TEST(changes(r1, r2).empty());
    // Once it has passed, a failure is one, grace or not.
    auto r3 = next_states(r2, {fail("nginx", t0 + seconds(4), "refused")}, grace_end);
    BOOST_TEST(!of(r3, "nginx").starting);
    BOOST_TEST(changes(r2, r3).at(0) == "nginx fails: refused");
}

BOOST_AUTO_TEST_CASE(still_not_up_when_the_grace_ends_fails) {
    Time grace_end = t0 + seconds(60);
    auto r1 = next_states({}, {fail("smtp", t0, "refused")}, grace_end);
    auto r2 = next_states(r1, {fail("smtp", t0 + seconds(59), "refused")}, grace_end);
    BOOST_TEST(of(r2, "smtp").starting);
    auto r3 = next_states(r2, {fail("smtp", grace_end, "refused")}, grace_end);
    BOOST_TEST(!of(r3, "smtp").starting);
    BOOST_TEST((of(r3, "smtp").since == t0));  // failing since it was first seen down
    auto lines = changes(r2, r3);
    BOOST_TEST(lines.size() == 1u);
    BOOST_TEST(lines.at(0) == "smtp fails: refused");
    // Coming up after that is passing again.
    auto r4 = next_states(r3, {pass("smtp", grace_end + seconds(30))}, grace_end);
    BOOST_TEST(changes(r3, r4).at(0) == "smtp passes again");
}

BOOST_AUTO_TEST_CASE(board_knows_when_a_service_is_starting) {
    Board b(t0 + seconds(60));
    BOOST_TEST(!b.starting());
    BOOST_TEST(b.record({fail("nginx", t0, "refused"), pass("web", t0)}, t0).empty());
    BOOST_TEST(b.starting());
    b.record({pass("nginx", t0 + seconds(1)), pass("web", t0 + seconds(1))}, t0 + seconds(1));
    BOOST_TEST(!b.starting());
    Board no_grace;
    no_grace.record({fail("nginx", t0, "refused")}, t0);
    BOOST_TEST(!no_grace.starting());
}
