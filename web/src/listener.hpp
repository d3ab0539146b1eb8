// The connection that keeps the caches honest: it LISTENs on family_person
// (the extension: a person's public values changed) and family_account (the
// app schema: an account or its tokens changed). While it is not
// connected nothing is cached, and whatever was cached goes: a notification
// may have been missed. It reconnects on its own.
//
// It also hears the service's own writes end (family_sync): a write sends a
// marker as its last notification, and the write's reply waits until the
// listener has heard it, hence everything the write changed. So a client
// that reads right after its own write never gets the old body.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include "cache.hpp"
#include "sessions.hpp"

namespace family::web {

class Listener {
  public:
    // Nothing is cached until start() connects it (the unit tests do not).
    Listener(std::string dsn, Cache& cache, Sessions& sessions);
    ~Listener();
    void start();  // its thread connects, listens, and reconnects
    bool connected() const { return connected_; }
    std::uint64_t reconnects() const { return reconnects_; }

    // A marker for one write, unique among every service on the database.
    std::string marker();
    // True once the marker was heard; false after `timeout` or when the
    // connection is lost first.
    bool wait_for(const std::string& marker, std::chrono::milliseconds timeout);

    // What the connection hears (called on its thread).
    void person_changed(const std::string& payload);
    void account_changed(const std::string& payload);
    void heard(const std::string& marker);
    void lost();  // the connection is gone, or about to be: trust no cache

  private:
    void run();
    void listen();

    const std::string dsn_;
    Cache& cache_;
    Sessions& sessions_;
    const std::string instance_;  // random, so that markers differ across services
    std::atomic<std::uint64_t> next_marker_{0};
    std::mutex mutex_;
    std::condition_variable heard_cv_;
    std::unordered_set<std::string> heard_;  // markers heard and not yet waited for
    std::atomic<bool> stop_{false}, connected_{false};
    std::atomic<std::uint64_t> reconnects_{0};
    std::thread thread_;
};

}  // namespace family::web
