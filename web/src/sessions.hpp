// The callers the service knows: who a bearer token belongs to, kept in
// memory for a short while.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace family::web {

// Who a token belongs to, remembered for a short while so that a cached GET
// needs no database round trip. Forgotten at once when the database says the
// account or its tokens changed (channel family_account).
//
// A lookup that raced a revocation must not remember what it read before it:
// remember() takes the generation the lookup started at and refuses if
// anything was forgotten since. Nothing is remembered while the
// notifications are not known to arrive (clear(false) until clear(true)).
struct Caller {
    std::int64_t account_id;
    std::optional<std::int64_t> person_id;  // none: an account that is not a person
    bool is_staff;
};

class Sessions {
  public:
    using Clock = std::chrono::steady_clock;
    explicit Sessions(std::chrono::seconds ttl) : ttl_(ttl) {}
    std::optional<Caller> find(const std::string& hash, Clock::time_point now = Clock::now());
    std::uint64_t generation() const;
    void remember(const std::string& hash, const Caller& caller, Clock::time_point expires,
                  std::uint64_t read_generation, Clock::time_point now = Clock::now());
    void forget_account(std::int64_t account_id);
    void clear(bool live);
    void clear();  // remembering stays as it was

  private:
    struct Entry {
        Caller caller;
        Clock::time_point until;
    };
    const std::chrono::seconds ttl_;
    mutable std::mutex mutex_;
    bool live_ = false;
    std::uint64_t generation_ = 0;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace family::web
