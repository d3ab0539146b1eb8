// The domain's rules, each written once: what a person's row and a
// relationship may hold, which two persons are a couple, the message for a
// cycle, and when a propagation must read again or give up. Pure C++ (no
// PostgreSQL header): the triggers and the check call these, and the unit
// tests drive them alone. A broken rule is a family::Error with its SQLSTATE.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lineage.hpp"

namespace family::rules {

// A child's relationship with a parent, 1 (worst) to 5 (best).
constexpr int kLowestRank = 1;
constexpr int kHighestRank = 5;
inline bool rank_in_range(std::int64_t rank) {
    return rank >= kLowestRank && rank <= kHighestRank;
}

// Names and places are text to show: at most 200 characters, and no control
// character (C0, DEL, C1), line or paragraph separator, or bidirectional
// embedding, override or isolate (as the SQL function family.printable and
// the tables' constraints say). nullopt when `utf8` is such text, else why
// not. `utf8` is valid UTF-8.
constexpr std::size_t kLongestText = 200;
std::optional<std::string> text_error(std::string_view utf8);

// A couple whichever way round it is written: (least, greatest), as the
// index relationship_couple keys it.
using Couple = std::pair<PersonId, PersonId>;
inline Couple couple_of(PersonId a, PersonId b) {
    return a < b ? Couple{a, b} : Couple{b, a};
}

// A person's parent links as a row holds them, before any check.
struct RowLinks {
    PersonId id = 0;
    std::optional<PersonId> father, mother;
    std::optional<std::int64_t> father_rank, mother_rank;
};

// Throws 23514 for the first rule the links break: nobody is their own
// parent, father and mother differ, a rank goes with its parent and is in
// range.
void check_links(const RowLinks& row);

// A relationship as a row holds it; times in any unit that orders them.
struct RelationshipRow {
    std::int64_t id = 0;
    PersonId a = 0, b = 0;
    std::int64_t started_at = 0;
    std::optional<std::int64_t> ended_at;  // none: current
};

// Throws for the first rule a written relationship breaks: it ends no
// earlier than it starts (23514; `show` writes a time as the server would),
// its persons stay those it was started with (22023), and nobody is in a
// relationship with themselves (23514; checked when it is current).
void check_relationship(const RelationshipRow& row, const std::optional<RelationshipRow>& old,
                        const std::function<std::string(std::int64_t)>& show);

// FA001 for a set of persons with links (a changed person and all their
// descendants) in which `in_cycle` could not be ordered: the message names a
// changed person (one of `roots`) and the parent through which they would
// descend from themselves, or, if the cycle runs through no changed person,
// says it was there before (made behind the triggers' back).
[[noreturn]] void cycle_error(const std::vector<Links>& set, const std::vector<PersonId>& roots,
                              const std::vector<PersonId>& in_cycle);

// A propagation reads a person's descendants, writes what changed, and may
// have to read them again (see person_triggers.cpp). After the write:
//  - at READ COMMITTED, if no other transaction ended since the first read,
//    that read was already the latest: done;
//  - else read again; the same set: done; a different one: at a fixed
//    snapshot (REPEATABLE READ, SERIALIZABLE) 40001, at READ COMMITTED
//    start over, up to kMostAttempts times, then 40001.
constexpr int kMostAttempts = 11;
bool must_read_again(bool snapshot_fixed, bool others_ended);
// Whether to start over (else done); throws 40001 as above.
bool start_over(bool same_set, bool snapshot_fixed, int attempt,
                const std::vector<PersonId>& roots);

}  // namespace family::rules
