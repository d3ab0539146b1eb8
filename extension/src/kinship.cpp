#include "kinship.hpp"

#include <algorithm>
#include <cstdlib>
#include <queue>
#include <tuple>
#include <unordered_map>

namespace family::kinship {

namespace {

// b's word for a relation: male, female, neutral.
std::string word(Sex sex, const char* male, const char* female, const char* neutral) {
    return sex == Sex::Male ? male : sex == Sex::Female ? female : neutral;
}

// "" for 0, "great-" for 1, "2nd great-" for 2, ...
std::string greats(int n) {
    if (n <= 0) return "";
    return n == 1 ? "great-" : ordinal(n) + " great-";
}

std::string cousin_degree(int n) {
    static const char* const kWords[] = {"first",   "second", "third", "fourth", "fifth",
                                         "sixth",   "seventh", "eighth", "ninth", "tenth"};
    return n <= 10 ? kWords[n - 1] : ordinal(n);
}

}  // namespace

std::string ordinal(int n) {
    int last_two = n % 100, last = n % 10;
    const char* suffix = last_two >= 11 && last_two <= 13 ? "th"
                         : last == 1                      ? "st"
                         : last == 2                      ? "nd"
                         : last == 3                      ? "rd"
                                                          : "th";
    return std::to_string(n) + suffix;
}

std::string term(int up, int down, Sex sex, bool half) {
    if (up == 0 && down == 0) return "self";
    if (up == 0) {
        // b descends from a: child, grandchild, great-grandchild, ...
        std::string base = word(sex, "son", "daughter", "child");
        return down == 1 ? base : greats(down - 2) + "grand" + base;
    }
    if (down == 0) {
        std::string base = word(sex, "father", "mother", "parent");
        return up == 1 ? base : greats(up - 2) + "grand" + base;
    }
    if (up == 1 && down == 1)
        return (half ? "half-" : "") + word(sex, "brother", "sister", "sibling");
    // Without a sex, both words, each with its prefix: "grandnephew or grandniece".
    auto both = [&](const std::string& prefix, const char* male, const char* female) {
        return sex == Sex::Male     ? prefix + male
               : sex == Sex::Female ? prefix + female
                                    : prefix + male + " or " + prefix + female;
    };
    if (up == 1) return both(down == 2 ? "" : greats(down - 3) + "grand", "nephew", "niece");
    if (down == 1) return both(up == 2 ? "" : greats(up - 3) + "grand", "uncle", "aunt");
    int removed = std::abs(up - down);
    std::string cousin = cousin_degree(std::min(up, down) - 1) + " cousin";
    if (removed == 0) return cousin;
    return cousin + (removed == 1   ? " once removed"
                     : removed == 2 ? " twice removed"
                                    : " " + std::to_string(removed) + " times removed");
}

namespace {

// What the walks know of a person met: from which side(s), whether above a
// common ancestor (stale), and queued (GraphWalk's; the other keeps a bool).
enum : std::uint8_t { kFromA = 1, kFromB = 2, kStale = 4, kQueued = 8 };

// Adds what a child brings to a person met: its sides and, per side, fewer
// steps up. Whether anything changed (then the person is walked again).
template <typename Seen>
bool take(Seen& s, unsigned flags, int from_a, int from_b) {
    bool changed = (s.flags | flags) != s.flags;
    if ((flags & kFromA) && (!(s.flags & kFromA) || from_a < s.from_a)) {
        s.from_a = from_a;
        changed = true;
    }
    if ((flags & kFromB) && (!(s.flags & kFromB) || from_b < s.from_b)) {
        s.from_b = from_b;
        changed = true;
    }
    s.flags |= flags;
    return changed;
}

}  // namespace

std::vector<Relation> nearest_common_ancestors(PersonId a, PersonId b,
                                               const std::function<Person(PersonId)>& fetch) {
    struct Seen {
        Person person;
        unsigned flags = 0;
        int from_a = 0, from_b = 0;  // fewest steps up, when flagged
        bool queued = false;
    };
    std::unordered_map<PersonId, Seen> seen;
    using Entry = std::pair<int, PersonId>;  // generation, id: the highest first
    std::priority_queue<Entry> queue;
    // Queued persons that could still meet the other side's walk.
    int open_a = 0, open_b = 0;
    auto count = [&](unsigned flags, int delta) {
        if (flags & kStale) return;
        if (flags & kFromA) open_a += delta;
        if (flags & kFromB) open_b += delta;
    };
    auto reach = [&](PersonId id, unsigned flags, int from_a, int from_b) {
        auto [it, fresh] = seen.try_emplace(id);
        Seen& s = it->second;
        if (fresh) s.person = fetch(id);
        if (s.queued) count(s.flags, -1);
        bool changed = take(s, flags, from_a, from_b) || fresh;
        if (!s.queued && changed) {
            // Only once a child has been met, unless stored generations
            // were made behind the triggers' back (then again, boundedly).
            queue.push({s.person.generation, id});
            s.queued = true;
        }
        if (s.queued) count(s.flags, +1);
    };
    reach(a, kFromA, 0, 0);
    reach(b, kFromB, 0, 0);
    std::vector<Relation> out;
    while (!queue.empty() && open_a > 0 && open_b > 0) {
        PersonId id = queue.top().second;
        queue.pop();
        Seen& s = seen[id];
        count(s.flags, -1);
        s.queued = false;
        unsigned flags = s.flags;
        if ((flags & kFromA) && (flags & kFromB) && !(flags & kStale)) {
            out.push_back({id, s.from_a, s.from_b});
            flags |= kStale;  // what is above it is no nearest one
        }
        int from_a = s.from_a + 1, from_b = s.from_b + 1;
        for (const std::optional<PersonId>& parent : {s.person.father, s.person.mother})
            if (parent) reach(*parent, flags, from_a, from_b);
    }
    std::sort(out.begin(), out.end(), [](const Relation& x, const Relation& y) {
        return std::tuple(x.up + x.down, x.up, x.ancestor) < std::tuple(y.up + y.down, y.up, y.ancestor);
    });
    return out;
}

bool ParentGraph::in_order(std::int32_t from, std::int32_t to) const {
    for (std::int32_t i = from; i < to; ++i) {
        if (generation[i] < 0) return false;
        for (std::int32_t parent : {father[i], mother[i]})
            if (parent != kNone && generation[parent] >= generation[i]) return false;
    }
    return true;
}

GraphWalk::Seen& GraphWalk::find(std::int32_t index, bool& fresh) {
    if ((used_ + 1) * 2 > table_.size()) grow();
    std::size_t mask = table_.size() - 1, slot = slot_of(index);
    while (table_[slot].index != index) {
        if (table_[slot].index < 0) {
            fresh = true;
            ++used_;
            touched_.push_back(static_cast<std::uint32_t>(slot));
            return table_[slot] = {index, 0, 0, 0};
        }
        slot = (slot + 1) & mask;
    }
    fresh = false;
    return table_[slot];
}

GraphWalk::Seen& GraphWalk::at(std::int32_t index) {
    std::size_t mask = table_.size() - 1, slot = slot_of(index);
    while (table_[slot].index != index) slot = (slot + 1) & mask;
    return table_[slot];
}

void GraphWalk::grow() {
    std::vector<Seen> old(std::max<std::size_t>(1024, table_.size() * 2), Seen{-1, 0, 0, 0});
    old.swap(table_);
    touched_.clear();
    shift_ = 64;
    for (std::size_t n = table_.size(); n > 1; n /= 2) --shift_;
    std::size_t mask = table_.size() - 1;
    for (const Seen& s : old) {
        if (s.index < 0) continue;
        std::size_t slot = slot_of(s.index);
        while (table_[slot].index >= 0) slot = (slot + 1) & mask;
        table_[slot] = s;
        touched_.push_back(static_cast<std::uint32_t>(slot));
    }
}

std::optional<std::vector<Relation>> GraphWalk::run(const ParentGraph& g, std::int32_t a,
                                                     std::int32_t b) {
    for (std::uint32_t slot : touched_) table_[slot].index = -1;
    touched_.clear();
    used_ = 0;
    int top = std::max(g.generation[a], g.generation[b]);
    // Generations of a consistent graph lie in [0, size).
    if (std::min(g.generation[a], g.generation[b]) < 0 || top >= g.size()) return std::nullopt;
    if (buckets_.size() < static_cast<std::size_t>(top) + 1) buckets_.resize(top + 1);
    for (int level = 0; level <= top; ++level) buckets_[level].clear();
    long open_a = 0, open_b = 0;  // as in nearest_common_ancestors
    auto count = [&](std::uint8_t flags, int delta) {
        if (flags & kStale) return;
        if (flags & kFromA) open_a += delta;
        if (flags & kFromB) open_b += delta;
    };
    auto reach = [&](std::int32_t i, std::uint8_t flags, std::int32_t from_a, std::int32_t from_b) {
        bool fresh = false;
        Seen& s = find(i, fresh);
        bool queued = s.flags & kQueued;
        if (queued) count(s.flags, -1);
        bool changed = take(s, flags, from_a, from_b) || fresh;
        if (!queued && changed) {
            buckets_[g.generation[i]].push_back(i);
            s.flags |= kQueued;
            queued = true;
        }
        if (queued) count(s.flags, +1);
    };
    reach(a, kFromA, 0, 0);
    reach(b, kFromB, 0, 0);
    std::vector<Relation> out;
    int level = top;
    while (open_a > 0 && open_b > 0) {
        // Never below 0: a person counted open is queued.
        while (buckets_[level].empty()) --level;
        std::int32_t i = buckets_[level].back();
        buckets_[level].pop_back();
        Seen& s = at(i);
        count(s.flags, -1);
        s.flags &= static_cast<std::uint8_t>(~kQueued);
        std::uint8_t flags = s.flags;
        if ((flags & kFromA) && (flags & kFromB) && !(flags & kStale)) {
            out.push_back({i, s.from_a, s.from_b});
            flags |= kStale;
        }
        std::int32_t from_a = s.from_a + 1, from_b = s.from_b + 1;  // s may move: reach() grows
        for (std::int32_t parent : {g.father[i], g.mother[i]}) {
            if (parent == ParentGraph::kNone) continue;
            // A parent met later than its child: its children may not all
            // have been met before it.
            if (g.generation[parent] >= level || g.generation[parent] < 0) return std::nullopt;
            reach(parent, flags, from_a, from_b);
        }
    }
    std::sort(out.begin(), out.end(), [](const Relation& x, const Relation& y) {
        return std::tuple(x.up + x.down, x.up, x.ancestor) < std::tuple(y.up + y.down, y.up, y.ancestor);
    });
    return out;
}

}  // namespace family::kinship
