#include "runner.hpp"

#include <algorithm>
#include <system_error>

#include "config.hpp"
#include "render.hpp"

namespace family::status {

// One check's run, shared by its thread and the round that waits for it:
// whichever lets go last frees it.
struct Runner::Run {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    Outcome outcome;
    Time started_at;
};

namespace {

// The check in a thread of its own, which outlives the round if it must.
void start(const std::shared_ptr<Runner::Run>& run, const std::function<std::string()>& check) {
    std::thread([run, check] {
        Outcome o;
        try {
            o.detail = check();
            o.pass = true;
        } catch (const std::exception& e) {
            o.error = e.what();
        } catch (...) {
            o.error = "the check threw something that is not a std::exception";
        }
        std::lock_guard<std::mutex> lock(run->mutex);
        run->outcome.pass = o.pass;
        run->outcome.error = std::move(o.error);
        run->outcome.detail = std::move(o.detail);
        run->outcome.checked_at = Clock::now();
        run->done = true;
        run->done_cv.notify_all();
    }).detach();
}

}  // namespace

Runner::Runner(std::vector<Check> checks, std::chrono::milliseconds deadline)
    : checks_(std::move(checks)), deadline_(deadline), stuck_(checks_.size()) {}

std::vector<Outcome> Runner::round() {
    auto until = std::chrono::steady_clock::now() + deadline_;
    std::vector<std::shared_ptr<Run>> runs(checks_.size());
    for (std::size_t i = 0; i < checks_.size(); ++i) {
        if (stuck_[i]) {
            std::lock_guard<std::mutex> lock(stuck_[i]->mutex);
            if (!stuck_[i]->done) continue;  // still stuck: not started again
        }
        stuck_[i].reset();
        auto run = runs[i] = std::make_shared<Run>();
        run->started_at = Clock::now();
        run->outcome.service = checks_[i].service;
        try {
            start(run, checks_[i].run);
        } catch (const std::system_error& e) {  // LCOV_EXCL_START: only when out of threads
            run->outcome.error = std::string("cannot start the check: ") + e.what();
            run->outcome.checked_at = Clock::now();
            run->done = true;
        }  // LCOV_EXCL_STOP
    }
    std::vector<Outcome> outcomes;
    for (std::size_t i = 0; i < checks_.size(); ++i) {
        std::shared_ptr<Run> run = runs[i] ? runs[i] : stuck_[i];
        std::unique_lock<std::mutex> lock(run->mutex);
        if (runs[i] && run->done_cv.wait_until(lock, until, [&] { return run->done; })) {
            outcomes.push_back(run->outcome);
            continue;
        }
        stuck_[i] = run;
        outcomes.push_back({checks_[i].service, false,
                            "no answer within " + seconds_text(deadline_) +
                                " s: the check started " + iso8601(run->started_at) +
                                " is still running",
                            "", Clock::now()});
    }
    return outcomes;
}

Poller::Poller(Runner& runner, Board& board, std::chrono::milliseconds interval,
               std::function<void(const std::string&)> log)
    : runner_(runner), board_(board), interval_(interval), log_(std::move(log)) {}

Poller::~Poller() {
    stop();
}

void Poller::round() {
    last_start_ = std::chrono::steady_clock::now();
    std::vector<Outcome> outcomes = runner_.round();
    for (const std::string& line : board_.record(outcomes, Clock::now())) log_(line);
}

void Poller::start() {
    thread_ = std::thread([this] { loop(); });
}

void Poller::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Poller::loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    // While a service is starting, the next round comes within a second, so
    // that the page shows it up as soon as it is.
    auto next = [this] {
        return last_start_ + (board_.starting()
                                  ? std::min(interval_, std::chrono::milliseconds(1000))
                                  : interval_);
    };
    while (!wake_.wait_until(lock, next(), [this] { return stopping_; })) {
        lock.unlock();
        round();
        lock.lock();
    }
}

}  // namespace family::status
