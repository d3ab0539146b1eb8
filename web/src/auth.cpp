#include "auth.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

namespace family::web {

namespace {
// libsodium must be initialized once before use (its random source).
void init() {
    static const bool ready = sodium_init() >= 0;
    if (!ready)
        throw std::runtime_error("libsodium cannot start");  // LCOV_EXCL_LINE: no /dev/urandom
}
}  // namespace

std::string hash_password(const std::string& password) {
    init();
    char out[crypto_pwhash_STRBYTES];
    // Interactive limits (64 MiB, 2 passes): a login stays well under a second.
    if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        throw std::bad_alloc();  // LCOV_EXCL_LINE: libsodium fails only without memory
    return out;
}

bool verify_password(const std::string& hash, const std::string& password) {
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

namespace {
constexpr std::size_t kTokenBytes = 32;
constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

std::string sha256(const unsigned char* data, std::size_t size) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, data, size);
    return std::string(reinterpret_cast<char*>(digest), sizeof digest);
}
}  // namespace

NewToken new_token() {
    init();
    unsigned char raw[kTokenBytes];
    randombytes_buf(raw, sizeof raw);
    char text[sodium_base64_ENCODED_LEN(kTokenBytes, kVariant)];
    sodium_bin2base64(text, sizeof text, raw, sizeof raw, kVariant);
    return {text, sha256(raw, sizeof raw)};
}

std::optional<std::string> token_hash(const std::string& token) {
    unsigned char raw[kTokenBytes];
    std::size_t size = 0;
    if (token.size() != sodium_base64_ENCODED_LEN(kTokenBytes, kVariant) - 1 ||
        sodium_base642bin(raw, sizeof raw, token.data(), token.size(), nullptr, &size, nullptr,
                          kVariant) != 0 ||
        size != kTokenBytes)
        return std::nullopt;
    return sha256(raw, sizeof raw);
}

std::string to_hex(const std::string& bytes) {
    std::string out(bytes.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                   bytes.size());
    out.pop_back();
    return out;
}

int Throttle::throttle(const std::string& key, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    // Old buckets go now and then, so that the map stays small.
    if (buckets_.size() > 10000)
        for (auto it = buckets_.begin(); it != buckets_.end();)
            it = now - it->second.start >= window_ ? buckets_.erase(it) : std::next(it);
    Bucket& b = buckets_.try_emplace(key, Bucket{now, 0}).first->second;
    if (now - b.start >= window_) b = {now, 0};
    if (b.used < attempts_) {
        ++b.used;
        return 0;
    }
    auto wait = std::chrono::duration_cast<std::chrono::seconds>(b.start + window_ - now);
    return std::max<int>(1, static_cast<int>(wait.count()));
}

void Throttle::refund(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = buckets_.find(key);
    if (it != buckets_.end() && it->second.used > 0) --it->second.used;
}

bool HashSlots::run(const std::function<void()>& hash) {
    {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!freed_.wait_for(lock, wait_, [this] { return free_ > 0; })) return false;
        --free_;
    }
    struct Release {
        HashSlots& s;
        ~Release() {
            {
                std::lock_guard<std::mutex> lock(s.mutex_);
                ++s.free_;
            }
            s.freed_.notify_one();
        }
    } release{*this};
    hash();
    return true;
}

}  // namespace family::web
