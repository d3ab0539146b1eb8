// Passwords, tokens, login throttling and the session cache.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "auth.hpp"
#include "sessions.hpp"

using namespace family::web;

BOOST_AUTO_TEST_CASE(passwords_are_argon2id) {
    std::string h = hash_password("correct horse");
    BOOST_TEST(h.rfind("$argon2id$", 0) == 0);
    BOOST_TEST(verify_password(h, "correct horse"));
    BOOST_TEST(!verify_password(h, "correct horsE"));
    BOOST_TEST(!verify_password("not a hash", "x"));
    BOOST_TEST(h != hash_password("correct horse"));  // salted
}

BOOST_AUTO_TEST_CASE(tokens_are_random_and_hashed) {
    NewToken a = new_token(), b = new_token();
    BOOST_TEST(a.token.size() == 43u);
    BOOST_TEST(a.token != b.token);
    BOOST_TEST(a.hash.size() == 32u);
    BOOST_TEST(*token_hash(a.token) == a.hash);
    BOOST_TEST(to_hex(a.hash).size() == 64u);
    BOOST_TEST(to_hex(std::string("\x01\xab", 2)) == "01ab");
    for (std::string bad : {std::string(), a.token.substr(1), a.token + "A", std::string(43, '*'),
                            std::string(42, 'A') + "B"})
        BOOST_TEST(!token_hash(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(throttle_allows_n_per_window) {
    Throttle t(2, std::chrono::seconds(60));
    auto now = Throttle::Clock::time_point{} + std::chrono::hours(1);
    BOOST_TEST(t.throttle("a", now) == 0);
    BOOST_TEST(t.throttle("a", now) == 0);
    BOOST_TEST(t.throttle("a", now + std::chrono::seconds(10)) == 50);
    BOOST_TEST(t.throttle("b", now) == 0);
    BOOST_TEST(t.throttle("a", now + std::chrono::milliseconds(59900)) == 1);
    BOOST_TEST(t.throttle("a", now + std::chrono::seconds(60)) == 0);
    // Many keys: the old ones are swept.
    for (int i = 0; i < 10002; ++i) t.throttle(std::to_string(i), now + std::chrono::hours(2));
    BOOST_TEST(t.throttle("a", now + std::chrono::hours(2)) == 0);
}

BOOST_AUTO_TEST_CASE(throttle_refunds_what_succeeded) {
    Throttle t(2, std::chrono::seconds(60));
    auto now = Throttle::Clock::time_point{} + std::chrono::hours(1);
    t.refund("never seen");  // nothing to give back
    BOOST_TEST(t.throttle("a", now) == 0);
    BOOST_TEST(t.throttle("a", now) == 0);
    t.refund("a");
    BOOST_TEST(t.throttle("a", now) == 0);  // the refunded attempt is free again
    BOOST_TEST(t.throttle("a", now) > 0);
    t.refund("a");
    t.refund("a");
    t.refund("a");  // not below zero
    BOOST_TEST(t.throttle("a", now) == 0);
    BOOST_TEST(t.throttle("a", now) == 0);
    BOOST_TEST(t.throttle("a", now) > 0);
}

BOOST_AUTO_TEST_CASE(hash_slots_bound_what_runs_at_once) {
    HashSlots slots(2, std::chrono::milliseconds(300));
    std::atomic<int> running{0}, most{0}, ran{0}, refused{0};
    std::vector<std::thread> threads;  // (Boost.Test asserts in this thread only)
    for (int i = 0; i < 6; ++i)
        threads.emplace_back([&] {
            refused += !slots.run([&] {
                int now = ++running;
                for (int m = most; now > m && !most.compare_exchange_weak(m, now);) {
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                --running;
                ++ran;
            });
        });
    for (std::thread& t : threads) t.join();
    BOOST_TEST(refused == 0);
    BOOST_TEST(ran == 6);
    BOOST_TEST(most == 2);
    // Both slots held past the wait: the next one is refused, and a slot is
    // freed even when the hash throws.
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::thread a([&] { slots.run([&] { released.wait(); }); });
    std::thread b([&] { slots.run([&] { released.wait(); }); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    bool called = false;
    BOOST_TEST(!slots.run([&] { called = true; }));
    BOOST_TEST(!called);
    release.set_value();
    a.join();
    b.join();
    BOOST_CHECK_THROW(slots.run([] { throw std::runtime_error("x"); }), std::runtime_error);
    BOOST_TEST(slots.run([] {}));
    BOOST_TEST(slots.run([] {}));
}

BOOST_AUTO_TEST_CASE(sessions_remember_forget_and_expire) {
    Sessions s(std::chrono::seconds(60));
    auto now = Sessions::Clock::time_point{} + std::chrono::hours(1);
    auto hour = now + std::chrono::hours(1);
    s.remember("t0", {1, 1, true}, hour, s.generation(), now);
    BOOST_TEST(!s.find("t0", now).has_value());  // not live: nothing remembered
    s.clear(true);
    s.remember("t1", {1, 1, true}, hour, s.generation(), now);
    s.remember("t2", {2, 2, false}, now + std::chrono::seconds(5), s.generation(), now);
    s.remember("t3", {1, 1, true}, hour, s.generation(), now);
    BOOST_TEST(s.find("t1", now)->is_staff);
    BOOST_TEST(s.find("t2", now)->account_id == 2);
    BOOST_TEST(*s.find("t2", now)->person_id == 2);
    BOOST_TEST(!s.find("t2", now + std::chrono::seconds(5)).has_value());  // token expired
    BOOST_TEST(
        !s.find("t1", now + std::chrono::seconds(60)).has_value());  // remembered 60 s at most
    s.remember("t1", {1, 1, true}, hour, s.generation(), now);
    s.forget_account(1);
    BOOST_TEST(!s.find("t1", now).has_value());
    BOOST_TEST(!s.find("t3", now).has_value());
    // An account that is not a person (staff who run the service).
    s.remember("t6", {6, std::nullopt, true}, hour, s.generation(), now);
    BOOST_TEST(!s.find("t6", now)->person_id.has_value());
    s.forget_account(6);
    BOOST_TEST(!s.find("t6", now).has_value());
    s.remember("t4", {4, 4, false}, hour, s.generation(), now);
    s.clear();  // stays live
    BOOST_TEST(!s.find("t4", now).has_value());
    for (int i = 0; i < 100002; ++i)
        s.remember(std::to_string(i), {i, i, false}, hour, s.generation(), now);
    BOOST_TEST(s.find("100001", now).has_value());
    s.clear(false);
    s.remember("t5", {5, 5, false}, hour, s.generation(), now);
    BOOST_TEST(!s.find("t5", now).has_value());  // the listener is down
}

// A lookup that started before a revocation remembers nothing.
BOOST_AUTO_TEST_CASE(sessions_refuse_a_lookup_older_than_a_revocation) {
    Sessions s(std::chrono::seconds(60));
    s.clear(true);
    auto now = Sessions::Clock::time_point{} + std::chrono::hours(1);
    std::uint64_t before = s.generation();
    s.forget_account(7);  // the token was revoked while the lookup ran
    s.remember("t", {7, 7, false}, now + std::chrono::hours(1), before, now);
    BOOST_TEST(!s.find("t", now).has_value());
    s.remember("t", {7, 7, false}, now + std::chrono::hours(1), s.generation(), now);
    BOOST_TEST(s.find("t", now).has_value());
}
