// The connection that keeps the caches honest: it LISTENs on family_person
// (the extension: a person's public values changed) and family_account (the
// app schema: a person's tokens or account changed). While it is not
// connected nothing is cached, and whatever was cached goes: a notification
// may have been missed. It reconnects on its own.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "auth.hpp"
#include "cache.hpp"

namespace family::web {

class Listener {
  public:
    Listener(std::string dsn, Cache& cache, Sessions& sessions);
    ~Listener();
    bool connected() const { return connected_; }
    std::uint64_t reconnects() const { return reconnects_; }

  private:
    void run();
    void listen();

    const std::string dsn_;
    Cache& cache_;
    Sessions& sessions_;
    std::atomic<bool> stop_{false}, connected_{false};
    std::atomic<std::uint64_t> reconnects_{0};
    std::thread thread_;
};

}  // namespace family::web
