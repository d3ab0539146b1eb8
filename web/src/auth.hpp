// Passwords, tokens and login throttling. Passwords are Argon2id hashes
// (libsodium's crypto_pwhash_str); a token is 32 random bytes handed out in
// base64url, of which the database keeps only the SHA-256.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace family::web {

std::string hash_password(const std::string& password);
bool verify_password(const std::string& hash, const std::string& password);

struct NewToken {
    std::string token;  // for the client
    std::string hash;   // 32 raw bytes, for the database
};
NewToken new_token();
// nullopt unless `token` has the shape new_token() gives.
std::optional<std::string> token_hash(const std::string& token);

// Lowercase hex of raw bytes (bytea parameters travel as hex text).
std::string to_hex(const std::string& bytes);

// Login attempts allowed per key (an e-mail, a client address) in a
// window; throttle() takes one and answers how many seconds to wait, 0 = go
// ahead; refund() gives it back (a login that succeeded counts for nothing).
class Throttle {
  public:
    using Clock = std::chrono::steady_clock;
    Throttle(int attempts, std::chrono::seconds window) : attempts_(attempts), window_(window) {}
    int throttle(const std::string& key, Clock::time_point now = Clock::now());
    void refund(const std::string& key);

  private:
    struct Bucket {
        Clock::time_point start;
        int used;
    };
    const int attempts_;
    const std::chrono::seconds window_;
    std::mutex mutex_;
    std::unordered_map<std::string, Bucket> buckets_;
};

// At most `slots` password hashes at once: each takes 64 MiB and a CPU for
// about 0.1 s, so a login flood must not run them all together. run() waits
// up to `wait` for a slot and runs `hash` in it; false if no slot freed up.
class HashSlots {
  public:
    HashSlots(int slots, std::chrono::milliseconds wait) : free_(slots), wait_(wait) {}
    bool run(const std::function<void()>& hash);

  private:
    std::mutex mutex_;
    std::condition_variable freed_;
    int free_;
    const std::chrono::milliseconds wait_;
};

// Who a token belongs to, remembered for a short while so that a cached GET
// needs no database round trip. Forgotten at once when the database says the
// person's tokens or account changed (channel family_account).
//
// A lookup that raced a revocation must not remember what it read before it:
// remember() takes the generation the lookup started at and refuses if
// anything was forgotten since. Nothing is remembered while the
// notifications are not known to arrive (clear(false) until clear(true)).
struct Caller {
    std::int64_t person_id;
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
    void forget_person(std::int64_t person_id);
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
