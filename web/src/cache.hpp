// The GET cache: response bodies by key, each tagged with the persons whose
// values it shows. A change to a person (a notification from the database)
// drops every entry tagged with it; a lost notification connection drops
// everything. Entries live at most `ttl`.
//
// A read that raced a change must not store what it read before the change:
// put() takes the epoch the read started at and refuses if one of the
// entry's persons was invalidated since, or everything was cleared since.
// The cache is off (get misses, put stores nothing) whenever the
// notifications are not known to arrive.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace family::web {

struct Cached {
    std::string body, etag;
    std::string link;  // a page's Link header, empty for none
};

struct CacheStats {
    std::uint64_t hits = 0, misses = 0, invalidations = 0, entries = 0;
};

class Cache {
  public:
    using Clock = std::chrono::steady_clock;
    // ttl 0 disables the cache; `bytes` bounds what the entries hold (the
    // least recently stored go first; a body over a sixteenth of it is not
    // stored).
    Cache(std::chrono::seconds ttl, std::size_t bytes);

    std::optional<Cached> get(const std::string& key);
    std::uint64_t epoch() const;
    void put(const std::string& key, const Cached& value, const std::vector<std::int64_t>& persons,
             std::uint64_t read_epoch);
    void invalidate(std::int64_t person);
    // Drops everything; `live` says whether entries may be stored again.
    void clear(bool live);
    // Drops everything; storing stays as it was.
    void clear();
    CacheStats stats() const;

    // For tests: the clock the cache reads.
    void set_clock(Clock::time_point (*now)()) { now_ = now; }

  private:
    struct Entry {
        Cached value;
        Clock::time_point expires;
        std::vector<std::int64_t> persons;
        std::list<std::string>::iterator order;
        std::size_t bytes;
    };
    void erase(std::unordered_map<std::string, Entry>::iterator it);
    void drop_all();

    const std::chrono::seconds ttl_;
    const std::size_t capacity_;
    Clock::time_point (*now_)() = &Clock::now;
    mutable std::mutex mutex_;
    bool live_ = false;
    std::uint64_t epoch_ = 0;       // counts invalidations and clears
    std::uint64_t cleared_at_ = 0;  // the epoch of the last clear
    // The epoch of each person's last invalidation since the last clear.
    std::unordered_map<std::int64_t, std::uint64_t> changed_at_;
    std::size_t bytes_ = 0;
    std::unordered_map<std::string, Entry> entries_;
    std::list<std::string> order_;  // oldest first
    std::unordered_multimap<std::int64_t, std::string> by_person_;
    CacheStats stats_;
};

// A strong ETag for a body: a quoted BLAKE2b-128 digest.
std::string etag_of(const std::string& body);
// Whether an If-None-Match header names `etag`: "*", or a list of tags
// compared the weak way (RFC 9110 13.1.2: W/ ignored; a proxy that
// compresses a body weakens its ETag).
bool etag_matches(const std::string& if_none_match, const std::string& etag);

}  // namespace family::web
