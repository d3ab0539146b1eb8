#include "rules.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

namespace family::rules {

namespace {
std::string person(PersonId id) {
    return "person " + std::to_string(id);
}

void check_rank(const RowLinks& r, const char* role, const std::optional<PersonId>& parent,
                const std::optional<std::int64_t>& rank) {
    std::string column = std::string(role) + "_rank";
    if (parent && !rank)
        throw Error("23514", person(r.id) + ": " + role + " " + std::to_string(*parent) +
                                 " needs a " + column + " (" + std::to_string(kLowestRank) +
                                 ".." + std::to_string(kHighestRank) + ")");
    if (!parent && rank)
        throw Error("23514", person(r.id) + ": " + column + " " + std::to_string(*rank) +
                                 " given without a " + role + "_id");
    if (rank && !rank_in_range(*rank))
        throw Error("23514", person(r.id) + ": " + column + " " + std::to_string(*rank) +
                                 " is out of range " + std::to_string(kLowestRank) + ".." +
                                 std::to_string(kHighestRank));
}
}  // namespace

void check_links(const RowLinks& r) {
    for (const auto& [role, parent] :
         {std::pair{"father", r.father}, std::pair{"mother", r.mother}})
        if (parent && *parent == r.id)
            throw Error("23514", person(r.id) + " cannot be their own " + role);
    if (r.father && r.mother && *r.father == *r.mother)
        throw Error("23514", person(r.id) + ": father and mother are the same person " +
                                 std::to_string(*r.father));
    check_rank(r, "father", r.father, r.father_rank);
    check_rank(r, "mother", r.mother, r.mother_rank);
}

void check_relationship(const RelationshipRow& r, const std::optional<RelationshipRow>& old,
                        const std::function<std::string(std::int64_t)>& show) {
    std::string name = "relationship " + std::to_string(r.id);
    if (r.ended_at && *r.ended_at < r.started_at)
        throw Error("23514", name + " cannot end (" + show(*r.ended_at) + ") before it started (" +
                                 show(r.started_at) + ")");
    if (old && (old->a != r.a || old->b != r.b))
        throw Error("22023", name + ": the persons of a relationship cannot change",
                    "End it and start a new one.");
    if (!r.ended_at && r.a == r.b)
        throw Error("23514", name + ": person " + std::to_string(r.a) +
                                 " cannot be in a relationship with themselves");
}

void cycle_error(const std::vector<Links>& set, const std::vector<PersonId>& roots,
                 const std::vector<PersonId>& in_cycle) {
    std::unordered_set<PersonId> stuck(in_cycle.begin(), in_cycle.end());
    std::unordered_map<PersonId, const Links*> by_id;
    for (const Links& l : set) by_id[l.id] = &l;
    // Whether `target` is an ancestor of `from` among the stuck persons.
    auto descends_from = [&](PersonId from, PersonId target) {
        std::unordered_set<PersonId> seen{from};
        std::vector<PersonId> todo{from};
        while (!todo.empty()) {
            auto it = by_id.find(todo.back());
            todo.pop_back();
            if (it == by_id.end()) continue;
            for (const auto& p : {it->second->father, it->second->mother}) {
                if (!p || !stuck.count(*p)) continue;
                if (*p == target) return true;
                if (seen.insert(*p).second) todo.push_back(*p);
            }
        }
        return false;
    };
    // A changed person on the cycle (not merely below it), and the parent
    // through which they would descend from themselves.
    for (const Links& l : set) {
        if (!stuck.count(l.id) || !std::count(roots.begin(), roots.end(), l.id)) continue;
        for (const auto& p : {l.father, l.mother})
            if (p && stuck.count(*p) && descends_from(*p, l.id))
                throw Error("FA001",
                            person(l.id) + " would become their own ancestor: parent " +
                                std::to_string(*p) + " descends from " + person(l.id),
                            "A person cannot be a parent of one of their ancestors.");
    }
    throw Error("FA001",
                "persons " + id_list(in_cycle) +
                    " are their own ancestors or descend from such a cycle",
                "Break the cycle by changing a parent link of one of them, then run "
                "family.repair().");
}

bool must_read_again(bool snapshot_fixed, bool others_ended) {
    return snapshot_fixed || others_ended;
}

bool start_over(bool same_set, bool snapshot_fixed, int attempt,
                const std::vector<PersonId>& roots) {
    if (same_set) return false;
    std::string who = roots.size() == 1 ? person(roots[0]) : "persons " + id_list(roots);
    if (snapshot_fixed)
        throw Error("40001",
                    "could not serialize access: the descendants of " + who +
                        " changed concurrently",
                    "Retry the transaction.");
    if (attempt + 1 >= kMostAttempts)
        throw Error("40001",
                    "could not serialize access: the descendants of " + who +
                        " keep changing concurrently",
                    "Retry the transaction.");
    return true;
}

std::optional<std::string> text_error(std::string_view utf8) {
    std::size_t characters = 0;
    for (std::size_t i = 0; i < utf8.size(); ++characters) {
        unsigned char c = static_cast<unsigned char>(utf8[i]);
        std::size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        char32_t code = n == 1 ? c : c & (0x7F >> n);
        for (std::size_t k = 1; k < n && i + k < utf8.size(); ++k)
            code = (code << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
        i += n;
        bool control = code < 0x20 || (code >= 0x7F && code <= 0x9F);
        bool layout = code == 0x2028 || code == 0x2029 || (code >= 0x202A && code <= 0x202E) ||
                      (code >= 0x2066 && code <= 0x2069);
        if (control || layout) {
            char hex[16];
            std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(code));
            return std::string("holds ") + hex +
                   (control ? ", a control character" : ", which reorders or breaks the text");
        }
    }
    if (characters > kLongestText)
        return "is " + std::to_string(characters) + " characters long, more than " +
               std::to_string(kLongestText);
    return std::nullopt;
}

}  // namespace family::rules
