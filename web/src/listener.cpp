#include "listener.hpp"

#include <cstdio>

#include <pqxx/pqxx>

#include "input.hpp"

namespace family::web {

namespace {

class Receiver : public pqxx::notification_receiver {
  public:
    Receiver(pqxx::connection& c, const std::string& channel, std::function<void(std::int64_t)> f)
        : pqxx::notification_receiver(c, channel), f_(std::move(f)) {}
    void operator()(const std::string& payload, int) override {
        if (payload == "*")
            f_(0);
        else if (std::optional<std::int64_t> id = positive_integer(payload))
            f_(*id);
    }

  private:
    std::function<void(std::int64_t)> f_;
};

}  // namespace

Listener::Listener(std::string dsn, Cache& cache, Sessions& sessions)
    : dsn_(std::move(dsn)), cache_(cache), sessions_(sessions), thread_([this] { run(); }) {}

Listener::~Listener() {
    stop_ = true;
    thread_.join();
}

void Listener::listen() {
    pqxx::connection c(dsn_);
    // "*": more changed than the extension names one by one.
    Receiver persons(c, "family_person", [this](std::int64_t id) {
        if (id == 0)
            cache_.clear(true);
        else
            cache_.invalidate(id);
    });
    Receiver accounts(c, "family_account",
                      [this](std::int64_t id) { sessions_.forget_person(id); });
    c.get_notifs();  // sends the LISTENs
    // From here on every change is heard: what was cached before may be stale.
    sessions_.clear();
    cache_.clear(true);
    connected_ = true;
    while (!stop_) c.await_notification(0, 200000);
}

void Listener::run() {
    auto pause = std::chrono::milliseconds(100);
    while (!stop_) {
        try {
            listen();
        } catch (const std::exception& e) {
            if (connected_) {
                ++reconnects_;
                pause = std::chrono::milliseconds(100);
            }
            std::fprintf(stderr, "family-web: notification connection lost: %s\n", e.what());
        }
        connected_ = false;
        cache_.clear(false);
        sessions_.clear();
        for (auto waited = std::chrono::milliseconds(0); waited < pause && !stop_;
             waited += std::chrono::milliseconds(20))
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        pause = std::min(pause * 2, std::chrono::milliseconds(2000));
    }
}

}  // namespace family::web
