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

std::vector<Relation> nearest_common_ancestors(PersonId a, PersonId b,
                                               const std::function<Person(PersonId)>& fetch) {
    enum : unsigned { kFromA = 1, kFromB = 2, kStale = 4 };  // stale: above a common ancestor
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
        bool changed = fresh || (s.flags | flags) != s.flags;
        if ((flags & kFromA) && (!(s.flags & kFromA) || from_a < s.from_a)) {
            s.from_a = from_a;
            changed = true;
        }
        if ((flags & kFromB) && (!(s.flags & kFromB) || from_b < s.from_b)) {
            s.from_b = from_b;
            changed = true;
        }
        s.flags |= flags;
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

}  // namespace family::kinship
