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

}  // namespace family::web
