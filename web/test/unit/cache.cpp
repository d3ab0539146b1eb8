// The GET cache: hits, expiry, invalidation by person, the epoch that keeps
// a read that raced a change from being stored, and the off state.
#include <boost/test/unit_test.hpp>

#include "cache.hpp"

using namespace family::web;

namespace {
Cache::Clock::time_point fake_now;
Cache::Clock::time_point fake_clock() { return fake_now; }
}  // namespace

BOOST_AUTO_TEST_CASE(cache_stores_and_invalidates_by_person) {
    Cache c(std::chrono::seconds(300), 10);
    c.clear(true);
    c.put("a", {"A", "\"1\""}, {1, 2}, c.epoch());
    c.put("b", {"B", "\"2\""}, {2, 3}, c.epoch());
    BOOST_TEST(c.get("a")->body == "A");
    BOOST_TEST(c.get("b")->etag == "\"2\"");
    BOOST_TEST(!c.get("z").has_value());
    c.invalidate(1);  // a only
    BOOST_TEST(!c.get("a").has_value());
    BOOST_TEST(c.get("b")->body == "B");
    c.invalidate(3);
    BOOST_TEST(!c.get("b").has_value());
    c.invalidate(99);  // nothing tagged
    CacheStats s = c.stats();
    BOOST_TEST(s.hits == 3);
    BOOST_TEST(s.misses == 3);
    BOOST_TEST(s.invalidations == 2);
    BOOST_TEST(s.entries == 0);
}

BOOST_AUTO_TEST_CASE(cache_refuses_a_read_older_than_a_change) {
    Cache c(std::chrono::seconds(300), 10);
    c.clear(true);
    std::uint64_t read_started = c.epoch();
    c.invalidate(5);  // a change lands while the read runs
    c.put("a", {"stale", ""}, {5}, read_started);
    BOOST_TEST(!c.get("a").has_value());
    c.put("a", {"fresh", ""}, {5}, c.epoch());
    BOOST_TEST(c.get("a")->body == "fresh");
}

BOOST_AUTO_TEST_CASE(cache_stores_nothing_while_off_or_disabled) {
    Cache off(std::chrono::seconds(300), 10);  // starts off: not yet listening
    off.put("a", {"A", ""}, {1}, off.epoch());
    BOOST_TEST(!off.get("a").has_value());
    off.clear(true);
    off.put("a", {"A", ""}, {1}, off.epoch());
    BOOST_TEST(off.get("a").has_value());
    off.clear(false);  // the notification connection is lost
    BOOST_TEST(!off.get("a").has_value());
    off.put("a", {"A", ""}, {1}, off.epoch());
    BOOST_TEST(!off.get("a").has_value());
    BOOST_TEST(off.stats().invalidations == 1);

    Cache disabled(std::chrono::seconds(0), 10);
    disabled.clear(true);
    disabled.put("a", {"A", ""}, {1}, disabled.epoch());
    BOOST_TEST(!disabled.get("a").has_value());
}

BOOST_AUTO_TEST_CASE(cache_expires_and_stays_bounded) {
    Cache c(std::chrono::seconds(300), 2);
    c.set_clock(&fake_clock);
    c.clear(true);
    fake_now = Cache::Clock::time_point{};
    c.put("a", {"A", ""}, {1}, c.epoch());
    c.put("a", {"A2", ""}, {1}, c.epoch());  // replaces
    BOOST_TEST(c.get("a")->body == "A2");
    c.put("b", {"B", ""}, {2}, c.epoch());
    c.put("c", {"C", ""}, {3}, c.epoch());  // over capacity: the oldest (a) goes
    BOOST_TEST(!c.get("a").has_value());
    BOOST_TEST(c.get("b").has_value());
    BOOST_TEST(c.stats().entries == 2);
    c.invalidate(1);  // a's tag went with it
    BOOST_TEST(c.get("b").has_value());
    fake_now += std::chrono::seconds(300);
    BOOST_TEST(!c.get("b").has_value());
    BOOST_TEST(c.stats().entries == 1);
}

BOOST_AUTO_TEST_CASE(etags_are_strong_and_follow_the_body) {
    std::string e = etag_of("{}");
    BOOST_TEST(e.size() == 34u);
    BOOST_TEST(e.front() == '"');
    BOOST_TEST(e == etag_of("{}"));
    BOOST_TEST(e != etag_of("{ }"));
}
