#include "listener.hpp"

#include <cstdio>
#include <cstring>

#include <pqxx/pqxx>
#include <sodium.h>

#include "input.hpp"

namespace family::web {

namespace {

// Hands each notification of a channel to a member of the listener. (Not a
// std::function: a temporary with a destructor in the constructor call would
// add a cleanup path that no test can reach.)
class Receiver : public pqxx::notification_receiver {
  public:
    using Handler = void (Listener::*)(const std::string&);
    Receiver(pqxx::connection& c, const std::string& channel, Listener* l, Handler h)
        : pqxx::notification_receiver(c, channel), listener_(l), handler_(h) {}
    void operator()(const std::string& payload, int) override { (listener_->*handler_)(payload); }

  private:
    Listener* listener_;
    Handler handler_;
};

// The server's last words before it closes the connection (a terminated
// backend, a shutdown) arrive as a notice, before the close itself is seen:
// stop trusting the caches at once.
class LastWords : public pqxx::errorhandler {
  public:
    LastWords(pqxx::connection& c, Listener* l) : pqxx::errorhandler(c), listener_(l) {}
    bool operator()(const char msg[]) noexcept override {
        if (std::strncmp(msg, "FATAL", 5) == 0) listener_->lost();
        return true;
    }

  private:
    Listener* listener_;
};

// Silence longer than this on the connection: ask the server if it is there.
constexpr auto kPing = std::chrono::seconds(5);

}  // namespace

Listener::Listener(std::string dsn, Cache& cache, Sessions& sessions)
    : dsn_(std::move(dsn)), cache_(cache), sessions_(sessions), instance_([] {
          unsigned char bytes[8];
          randombytes_buf(bytes, sizeof bytes);
          char hex[sizeof bytes * 2 + 1];
          return std::string(sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes));
      }()) {}

void Listener::start() {
    thread_ = std::thread([this] { run(); });
}

Listener::~Listener() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

std::string Listener::marker() {
    return instance_ + ":" + std::to_string(++next_marker_);
}

bool Listener::wait_for(const std::string& marker, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    bool heard = heard_cv_.wait_for(lock, timeout, [&] {
        return heard_.count(marker) > 0 || !connected_;
    }) && heard_.erase(marker) > 0;
    return heard;
}

void Listener::heard(const std::string& marker) {
    if (marker.compare(0, instance_.size(), instance_) != 0) return;  // another service's
    std::lock_guard<std::mutex> lock(mutex_);
    // A marker nobody waits for (its writer gave up) is dropped in bulk.
    if (heard_.size() >= 10000) heard_.clear();
    heard_.insert(marker);
    heard_cv_.notify_all();
}

// "*": more changed than the extension names one by one.
void Listener::person_changed(const std::string& payload) {
    if (payload == "*")
        cache_.clear();
    else if (std::optional<std::int64_t> id = positive_integer(payload))
        cache_.invalidate(*id);
}

void Listener::account_changed(const std::string& payload) {
    if (payload == "*")
        sessions_.clear(true);
    else if (std::optional<std::int64_t> id = positive_integer(payload))
        sessions_.forget_account(*id);
}

void Listener::lost() {
    cache_.clear(false);
    sessions_.clear(false);
}

void Listener::listen() {
    pqxx::connection c(dsn_);
    // A lost connection must be noticed, not silently reopened by libpqxx
    // (notifications sent in between would be lost unseen). Deprecated in
    // libpqxx 6 because reactivation itself is on its way out; until then it
    // is the only switch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    c.inhibit_reactivation(true);
#pragma GCC diagnostic pop
    Receiver persons(c, "family_person", this, &Listener::person_changed);
    Receiver accounts(c, "family_account", this, &Listener::account_changed);
    Receiver sync(c, "family_sync", this, &Listener::heard);
    LastWords last_words(c, this);
    // libpqxx swallows a connection lost during LISTEN: make sure it is not.
    pqxx::nontransaction(c).exec("SELECT 1");
    // From here on every change is heard: what was cached before may be stale.
    sessions_.clear(true);
    cache_.clear(true);
    connected_ = true;
    auto quiet_since = std::chrono::steady_clock::now();
    while (!stop_) {
        if (c.await_notification(0, 200000) > 0)
            quiet_since = std::chrono::steady_clock::now();
        else if (std::chrono::steady_clock::now() - quiet_since > kPing) {
            pqxx::nontransaction(c).exec("SELECT 1");
            quiet_since = std::chrono::steady_clock::now();
        }
    }
}

void Listener::run() {
    // While the connection is down it is tried again every 100 ms: an
    // attempt on a server that is down costs a refused connect, and the
    // service is ready again as soon as PostgreSQL is. Said once per outage,
    // then every 30 s.
    const auto pause = std::chrono::milliseconds(100);
    auto said = std::chrono::steady_clock::time_point{};
    while (!stop_) {
        try {
            listen();
        } catch (const std::exception& e) {
            auto now = std::chrono::steady_clock::now();
            if (connected_) ++reconnects_;
            if (connected_ || now - said >= std::chrono::seconds(30)) {
                std::fprintf(stderr, "family-web: notification connection lost: %s\n", e.what());
                said = now;
            }
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            connected_ = false;
            heard_cv_.notify_all();
        }
        lost();
        for (auto waited = std::chrono::milliseconds(0); waited < pause && !stop_;
             waited += std::chrono::milliseconds(20))
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace family::web
