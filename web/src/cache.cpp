#include "cache.hpp"

#include <sodium.h>

namespace family::web {

Cache::Cache(std::chrono::seconds ttl, std::size_t bytes) : ttl_(ttl), capacity_(bytes) {}

std::optional<Cached> Cache::get(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.expires <= now_()) {
        erase(it);
        it = entries_.end();
    }
    if (it == entries_.end()) {
        ++stats_.misses;
        return std::nullopt;
    }
    ++stats_.hits;
    return it->second.value;
}

std::uint64_t Cache::epoch() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return epoch_;
}

void Cache::put(const std::string& key, const Cached& value,
                const std::vector<std::int64_t>& persons, std::uint64_t read_epoch) {
    // What an entry costs: its strings, its tags, and the maps' nodes.
    std::size_t bytes = 2 * key.size() + value.body.size() + value.etag.size() + value.link.size() +
                        persons.size() * (sizeof(std::int64_t) + 64) + 256;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!live_ || ttl_.count() == 0 || read_epoch < cleared_at_ || bytes > capacity_ / 16) return;
    for (std::int64_t p : persons)
        if (auto c = changed_at_.find(p); c != changed_at_.end() && c->second > read_epoch) return;
    if (auto old = entries_.find(key); old != entries_.end()) erase(old);
    while (bytes_ + bytes > capacity_) erase(entries_.find(order_.front()));
    order_.push_back(key);
    entries_.emplace(key, Entry{value, now_() + ttl_, persons, std::prev(order_.end()), bytes});
    bytes_ += bytes;
    for (std::int64_t p : persons) by_person_.emplace(p, key);
}

void Cache::invalidate(std::int64_t person) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++epoch_;
    // Bounded: past 100000 persons, forget them all and refuse every read
    // that started before now, as a clear does.
    if (changed_at_.size() >= 100000) {
        changed_at_.clear();
        cleared_at_ = epoch_;
    }
    changed_at_[person] = epoch_;
    auto [first, last] = by_person_.equal_range(person);
    std::vector<std::string> keys;
    for (auto it = first; it != last; ++it) keys.push_back(it->second);
    for (const std::string& key : keys)
        if (auto it = entries_.find(key); it != entries_.end()) {
            erase(it);
            ++stats_.invalidations;
        }
}

void Cache::clear(bool live) {
    std::lock_guard<std::mutex> lock(mutex_);
    drop_all();
    live_ = live;
}

void Cache::clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    drop_all();
}

void Cache::drop_all() {
    cleared_at_ = ++epoch_;
    changed_at_.clear();
    stats_.invalidations += entries_.size();
    entries_.clear();
    order_.clear();
    by_person_.clear();
    bytes_ = 0;
}

CacheStats Cache::stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    CacheStats s = stats_;
    s.entries = entries_.size();
    return s;
}

void Cache::erase(std::unordered_map<std::string, Entry>::iterator it) {
    for (std::int64_t p : it->second.persons) {
        auto [first, last] = by_person_.equal_range(p);
        for (auto t = first; t != last; ++t)
            if (t->second == it->first) {
                by_person_.erase(t);
                break;
            }
    }
    order_.erase(it->second.order);
    bytes_ -= it->second.bytes;
    entries_.erase(it);
}

std::string etag_of(const std::string& body) {
    unsigned char digest[16];
    crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(body.data()),
                       body.size(), nullptr, 0);
    char hex[sizeof digest * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return "\"" + std::string(hex) + "\"";
}

}  // namespace family::web

namespace family::web {

bool etag_matches(const std::string& if_none_match, const std::string& etag) {
    std::size_t start = 0;
    while (start <= if_none_match.size()) {
        std::size_t end = if_none_match.find(',', start);
        if (end == std::string::npos) end = if_none_match.size();
        std::size_t a = if_none_match.find_first_not_of(" \t", start);
        std::size_t b = if_none_match.find_last_not_of(" \t", end - 1);
        if (a != std::string::npos && a < end) {
            std::string tag = if_none_match.substr(a, b - a + 1);
            if (tag == "*") return true;
            if (tag.rfind("W/", 0) == 0) tag.erase(0, 2);
            if (tag == etag) return true;
        }
        start = end + 1;
    }
    return false;
}

}  // namespace family::web
