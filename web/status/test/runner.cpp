// Rounds run their checks side by side; a stuck check fails at the deadline
// without holding the others, and is not started again while stuck.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

#include "runner.hpp"

using namespace family::status;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

namespace {

Check sleeper(const std::string& service, milliseconds how_long) {
    return {service, [how_long] {
                std::this_thread::sleep_for(how_long);
                return std::string("slept");
            }};
}

}  // namespace

BOOST_AUTO_TEST_CASE(checks_run_side_by_side) {
    Runner r({sleeper("a", milliseconds(300)), sleeper("b", milliseconds(300)),
              sleeper("c", milliseconds(300))},
             milliseconds(5000));
    auto start = Steady::now();
    std::vector<Outcome> out = r.round();
    BOOST_TEST((Steady::now() - start < milliseconds(800)));
    BOOST_TEST(out.size() == 3u);
    for (const Outcome& o : out) {
        BOOST_TEST(o.pass);
        BOOST_TEST(o.detail == "slept");
    }
    BOOST_TEST(out[0].service == "a");
    BOOST_TEST(out[2].service == "c");
    BOOST_TEST(r.deadline().count() == 5000);
}

BOOST_AUTO_TEST_CASE(exceptions_are_failures) {
    Runner r({{"std", []() -> std::string { throw std::runtime_error("refused"); }},
              {"odd", []() -> std::string { throw 7; }}},
             milliseconds(2000));
    std::vector<Outcome> out = r.round();
    BOOST_TEST(!out[0].pass);
    BOOST_TEST(out[0].error == "refused");
    BOOST_TEST(!out[1].pass);
    BOOST_TEST(out[1].error == "the check threw something that is not a std::exception");
}

BOOST_AUTO_TEST_CASE(a_stuck_check_fails_at_the_deadline_and_is_not_restarted) {
    auto started = std::make_shared<std::atomic<int>>(0);
    auto release = std::make_shared<std::atomic<bool>>(false);
    Check stuck{"stuck", [started, release] {
                    ++*started;
                    while (!*release) std::this_thread::sleep_for(milliseconds(5));
                    return std::string("released");
                }};
    Runner r({stuck, sleeper("quick", milliseconds(10))}, milliseconds(200));
    auto start = Steady::now();
    std::vector<Outcome> first = r.round();
    auto took = Steady::now() - start;
    BOOST_TEST((took >= milliseconds(200) && took < milliseconds(700)));
    BOOST_TEST(!first[0].pass);
    BOOST_TEST(first[0].error.rfind("no answer within 0.2 s: the check started ", 0) == 0u);
    BOOST_TEST(first[0].error.find("is still running") != std::string::npos);
    BOOST_TEST(first[1].pass);  // the other check was not held up

    // Still stuck: failing at once, not started a second time.
    start = Steady::now();
    std::vector<Outcome> second = r.round();
    BOOST_TEST(!second[0].pass);
    BOOST_TEST(second[0].error == first[0].error);
    BOOST_TEST(second[1].pass);
    BOOST_TEST((Steady::now() - start < milliseconds(150)));
    BOOST_TEST(*started == 1);

    // Once it ends, the next round starts it again.
    *release = true;
    std::this_thread::sleep_for(milliseconds(50));
    std::vector<Outcome> third = r.round();
    BOOST_TEST(third[0].pass);
    BOOST_TEST(third[0].detail == "released");
    BOOST_TEST(*started == 2);
}

BOOST_AUTO_TEST_CASE(poller_runs_a_round_every_interval_until_stopped) {
    auto count = std::make_shared<std::atomic<int>>(0);
    Runner r({{"counted",
               [count]() -> std::string {
                   if (++*count % 2 == 0) throw std::runtime_error("even");
                   return "";
               }}},
             milliseconds(1000));
    Board board;
    std::vector<std::string> logged;
    std::mutex log_mutex;
    Poller p(r, board, milliseconds(50), [&](const std::string& line) {
        std::lock_guard<std::mutex> lock(log_mutex);
        logged.push_back(line);
    });
    p.round();
    BOOST_TEST(*count == 1);
    BOOST_TEST(board.snapshot().services.at(0).pass);
    p.start();
    std::this_thread::sleep_for(milliseconds(320));
    auto start = Steady::now();
    p.stop();
    BOOST_TEST((Steady::now() - start < milliseconds(200)));  // no waiting out the interval
    int rounds = *count;
    BOOST_TEST((rounds >= 4 && rounds <= 9), rounds);
    std::this_thread::sleep_for(milliseconds(120));
    BOOST_TEST(*count == rounds);  // stopped means stopped
    std::lock_guard<std::mutex> lock(log_mutex);
    BOOST_TEST(logged.at(0) == "counted fails: even");
    BOOST_TEST(logged.at(1) == "counted passes again");
    p.stop();  // twice is fine
}

BOOST_AUTO_TEST_CASE(a_slow_round_starts_the_next_at_once) {
    auto count = std::make_shared<std::atomic<int>>(0);
    Runner r({{"slow",
               [count] {
                   ++*count;
                   std::this_thread::sleep_for(milliseconds(100));
                   return std::string();
               }}},
             milliseconds(1000));
    Board board;
    Poller p(r, board, milliseconds(20), [](const std::string&) {});
    p.round();
    p.start();
    std::this_thread::sleep_for(milliseconds(450));
    p.stop();
    BOOST_TEST((*count >= 4 && *count <= 6), *count);
}
