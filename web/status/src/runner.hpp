// The rounds of checks: every check of a round in a thread of its own, the
// round over when all have answered or the deadline has passed, whichever
// comes first; and the loop that runs a round every interval.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "board.hpp"

namespace family::status {

// A check returns what a pass is worth telling and throws (any
// std::exception) with the error of a failure.
struct Check {
    std::string service;
    std::function<std::string()> run;
};

class Runner {
  public:
    // `deadline`: how long a round waits for its checks. The checks keep
    // their own, shorter timeouts; the deadline is there for one that does
    // not (a name lookup that hangs, say).
    Runner(std::vector<Check> checks, std::chrono::milliseconds deadline);
    // One round: an outcome per check, in the checks' order. A check still
    // running at the deadline fails ("no answer"), keeps its thread, and is
    // not started again until that thread ends (it fails meanwhile).
    std::vector<Outcome> round();
    std::chrono::milliseconds deadline() const { return deadline_; }

    struct Run;  // one check's run (runner.cpp)

  private:
    std::vector<Check> checks_;
    std::chrono::milliseconds deadline_;
    std::vector<std::shared_ptr<Run>> stuck_;  // per check: a run past its deadline
};

// Runs a round at once, then one every `interval` after the previous one
// started (at once if it took longer), recording each on the board and
// logging what changed, until stop().
class Poller {
  public:
    Poller(Runner& runner, Board& board, std::chrono::milliseconds interval,
           std::function<void(const std::string&)> log);
    ~Poller();
    void round();  // one round, in the caller's thread
    void start();  // the rounds after that, in a thread of their own
    void stop();   // waits for a round in progress to end

  private:
    void loop();
    Runner& runner_;
    Board& board_;
    std::chrono::milliseconds interval_;
    std::function<void(const std::string&)> log_;
    std::chrono::steady_clock::time_point last_start_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace family::status
