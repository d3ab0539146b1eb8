// What the status service knows: each service's state after the last round
// of checks, and since when it has been in it. A failing service keeps the
// moment it started failing until a check of it passes again.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace family::status {

using Clock = std::chrono::system_clock;
using Time = Clock::time_point;

// One check's result in one round.
struct Outcome {
    std::string service;
    bool pass = false;
    std::string error;   // why it fails (empty when it passes)
    std::string detail;  // what a passing check saw worth telling ("not run yet")
    Time checked_at;
};

struct ServiceState {
    std::string service;
    bool pass = false;
    std::string error, detail;
    Time since;  // the first round that saw the service in this state
    Time checked_at;
    // Failing, but it has not passed since the status service started and
    // the start-up grace is not over: it has not had the chance to start,
    // so it is not reported as failing.
    bool starting = false;
};

struct Snapshot {
    std::optional<Time> checked_at;  // the last round's end; none before the first
    std::vector<ServiceState> services;
};

// The states after a round: a service that stays failing (or passing) keeps
// its `since`; one that changes, or is new, starts from its check's time. A
// failing service that has never passed is `starting` while its check's
// time is before `starting_until`.
std::vector<ServiceState> next_states(const std::vector<ServiceState>& before,
                                      const std::vector<Outcome>& round,
                                      Time starting_until = Time::min());

// Log lines for what changed between two rounds: "smtp fails: ...",
// "smtp passes again". A service failing in its first round counts as a
// change; one starting does not fail yet.
std::vector<std::string> changes(const std::vector<ServiceState>& before,
                                 const std::vector<ServiceState>& after);

// True while the rounds keep coming: the last one ended at most two
// intervals and two round deadlines ago.
bool fresh(const Snapshot& s, Time now, std::chrono::milliseconds interval,
           std::chrono::milliseconds deadline);

// The states, shared by the round loop (writer) and the HTTP threads.
class Board {
  public:
    // `starting_until`: the end of the start-up grace (next_states).
    explicit Board(Time starting_until = Time::min()) : starting_until_(starting_until) {}
    // Records a round; returns the log lines of what changed.
    std::vector<std::string> record(const std::vector<Outcome>& round, Time at);
    Snapshot snapshot() const;
    // Is a service starting? (The poller then checks again sooner.)
    bool starting() const;

  private:
    const Time starting_until_;
    mutable std::mutex mutex_;
    Snapshot now_;
};

}  // namespace family::status
