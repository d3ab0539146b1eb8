#include "sessions.hpp"

#include <algorithm>

namespace family::web {

std::optional<Caller> Sessions::find(const std::string& hash, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(hash);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.until <= now) {
        entries_.erase(it);
        return std::nullopt;
    }
    return it->second.caller;
}

std::uint64_t Sessions::generation() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return generation_;
}

void Sessions::remember(const std::string& hash, const Caller& caller, Clock::time_point expires,
                        std::uint64_t read_generation, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!live_ || read_generation != generation_) return;
    if (entries_.size() > 100000) entries_.clear();  // a bound; they come back on use
    entries_[hash] = {caller, std::min(expires, now + ttl_)};
}

void Sessions::forget_account(std::int64_t account_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    for (auto it = entries_.begin(); it != entries_.end();)
        it = it->second.caller.account_id == account_id ? entries_.erase(it) : std::next(it);
}

void Sessions::clear(bool live) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    live_ = live;
    entries_.clear();
}

void Sessions::clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    entries_.clear();
}

}  // namespace family::web
