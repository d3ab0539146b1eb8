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
    Cache c(std::chrono::seconds(300), 1 << 20);
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
    Cache c(std::chrono::seconds(300), 1 << 20);
    c.clear(true);
    std::uint64_t read_started = c.epoch();
    c.invalidate(5);  // a change lands while the read runs
    c.put("a", {"stale", ""}, {5}, read_started);
    BOOST_TEST(!c.get("a").has_value());
    c.put("a", {"fresh", ""}, {5}, c.epoch());
    BOOST_TEST(c.get("a")->body == "fresh");
    // Only the entry's own persons matter: a change to another lets it in.
    read_started = c.epoch();
    c.invalidate(6);
    c.put("b", {"B", ""}, {5}, read_started);
    BOOST_TEST(c.get("b").has_value());
    // A clear refuses every read that started before it.
    read_started = c.epoch();
    c.clear();
    c.put("b", {"B", ""}, {5}, read_started);
    BOOST_TEST(!c.get("b").has_value());
    c.put("b", {"B", ""}, {5}, c.epoch());  // clear() keeps the cache live
    BOOST_TEST(c.get("b").has_value());
}

// The record of who changed stays bounded: past 100000 persons it is
// dropped, and every read that started before then is refused.
BOOST_AUTO_TEST_CASE(cache_forgets_changes_in_bulk_but_stays_safe) {
    Cache c(std::chrono::seconds(300), 1 << 20);
    c.clear(true);
    std::uint64_t read_started = c.epoch();
    for (std::int64_t p = 1; p <= 100001; ++p) c.invalidate(p);
    c.put("a", {"A", ""}, {200000}, read_started);  // 200000 never changed, but the record is gone
    BOOST_TEST(!c.get("a").has_value());
    read_started = c.epoch();
    c.put("a", {"A", ""}, {200000}, read_started);
    BOOST_TEST(c.get("a").has_value());
    c.invalidate(100001);  // remembered again after the drop
    c.put("b", {"B", ""}, {100001}, read_started);
    BOOST_TEST(!c.get("b").has_value());
}

BOOST_AUTO_TEST_CASE(cache_stores_nothing_while_off_or_disabled) {
    Cache off(std::chrono::seconds(300), 1 << 20);  // starts off: not yet listening
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

    Cache disabled(std::chrono::seconds(0), 1 << 20);
    disabled.clear(true);
    disabled.put("a", {"A", ""}, {1}, disabled.epoch());
    BOOST_TEST(!disabled.get("a").has_value());
}

BOOST_AUTO_TEST_CASE(cache_expires_and_stays_bounded) {
    // An entry like these costs 331 bytes (strings, a tag, the maps' nodes):
    // sixteen fit in 16 * 331, and an entry over a sixteenth is not stored.
    Cache c(std::chrono::seconds(300), 16 * 331);
    c.set_clock(&fake_clock);
    c.clear(true);
    fake_now = Cache::Clock::time_point{};
    c.put("a", {"A", ""}, {1}, c.epoch());
    c.put("a", {"B", ""}, {1}, c.epoch());  // replaces
    BOOST_TEST(c.get("a")->body == "B");
    for (char k = 'b'; k <= 'p'; ++k) c.put(std::string(1, k), {"X", ""}, {2}, c.epoch());
    BOOST_TEST(c.stats().entries == 16u);
    c.put("q", {"Q", ""}, {3}, c.epoch());  // over the bound: the oldest (a) goes
    BOOST_TEST(!c.get("a").has_value());
    BOOST_TEST(c.get("b").has_value());
    BOOST_TEST(c.stats().entries == 16u);
    c.put("big", {"XY", ""}, {4}, c.epoch());  // 332 bytes: over a sixteenth
    BOOST_TEST(!c.get("big").has_value());
    c.invalidate(1);  // a's tag went with it
    BOOST_TEST(c.get("q").has_value());
    fake_now += std::chrono::seconds(300);
    BOOST_TEST(!c.get("q").has_value());
    BOOST_TEST(c.stats().entries == 15u);
}

BOOST_AUTO_TEST_CASE(if_none_match_compares_the_weak_way) {
    std::string e = "\"abc\"";
    BOOST_TEST(etag_matches("\"abc\"", e));
    BOOST_TEST(etag_matches("W/\"abc\"", e));  // nginx weakens it when it gzips
    BOOST_TEST(etag_matches("\"x\", W/\"abc\"", e));
    BOOST_TEST(etag_matches(" \"x\" ,\t\"abc\" ", e));
    BOOST_TEST(etag_matches("*", e));
    BOOST_TEST(!etag_matches("\"abcd\"", e));
    BOOST_TEST(!etag_matches("\"x\", \"y\"", e));
    BOOST_TEST(!etag_matches("", e));
    BOOST_TEST(!etag_matches(" , ", e));
}

BOOST_AUTO_TEST_CASE(etags_are_strong_and_follow_the_body) {
    std::string e = etag_of("{}");
    BOOST_TEST(e.size() == 34u);
    BOOST_TEST(e.front() == '"');
    BOOST_TEST(e == etag_of("{}"));
    BOOST_TEST(e != etag_of("{ }"));
}
