// The pure C++ core of the extension: derived values of a person from its
// parents, the from-scratch recomputation, the order in which descendants are
// revisited, and a whole-graph recomputation. No PostgreSQL header here: this
// is unit-tested with Boost.Test on its own.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace family {

using PersonId = std::int64_t;

// Depths of 64 and beyond weigh less than 2^-64 against the parents' weight of
// 1: they change nothing in double precision, so vectors stop there.
constexpr std::size_t kMaxDepth = 64;

// A domain error: the boundary turns it into ereport(ERROR) with this SQLSTATE.
class Error : public std::runtime_error {
  public:
    Error(const char* sqlstate, const std::string& message, std::string detail = {})
        : std::runtime_error(message), sqlstate_(sqlstate), detail_(std::move(detail)) {}
    const char* sqlstate() const { return sqlstate_; }
    const std::string& detail() const { return detail_; }

  private:
    const char* sqlstate_;  // five characters, e.g. "FA001"
    std::string detail_;
};

// Per-depth sums and counts of link ranks: index k holds the links at depth k
// (k = 0: the person's own parent links). Every stored entry has a count > 0,
// so the size is the number of depths that have links. Counts are path
// counts, which grow like 2^k: doubles keep them exact up to 2^53.
struct RankVector {
    std::vector<double> sums;
    std::vector<double> counts;

    std::size_t depths() const { return counts.size(); }
    bool operator==(const RankVector& o) const { return sums == o.sums && counts == o.counts; }
    bool operator!=(const RankVector& o) const { return !(*this == o); }
};

// One known parent as seen from the child: the rank of the link and the
// parent's own derived values.
struct ParentView {
    int rank;
    int generation;
    const RankVector* ranks;
};

struct Derived {
    int generation = 0;
    RankVector ranks;

    bool operator==(const Derived& o) const {
        return generation == o.generation && ranks == o.ranks;
    }
    bool operator!=(const Derived& o) const { return !(*this == o); }
};

// Derived values of a person from its (up to two) known parents: O(depth).
Derived derive(const std::optional<ParentView>& father, const std::optional<ParentView>& mother);

// A(u) of SPEC section 3 from the per-depth sums and counts; none without links.
std::optional<double> ancestor_rank(const RankVector& ranks);

// The parent links of one person as stored, without derived values.
struct Links {
    PersonId id = 0;
    std::optional<PersonId> father, mother;
    int father_rank = 0, mother_rank = 0;
};

// Reads the links of the given persons (in any order; unknown ids are absent).
using LinksFetcher = std::function<std::vector<Links>(const std::vector<PersonId>&)>;

// The per-depth sums and counts of `person` from the links alone, walking up
// one depth at a time with path multiplicities (never enumerating paths):
// independent of every stored derived value. Throws 23503 if unknown.
RankVector ranks_from_scratch(PersonId person, const LinksFetcher& fetch);

// Recomputation of a set of persons from their links, in topological order
// (Kahn), iteratively: the whole table for repair(), or a changed person and
// all its descendants for the triggers. A parent outside the set is looked up
// in `outside` (its stored values); one found nowhere counts as unknown.
// `sink` is called once per person, parents before children; the vectors of a
// person are released once all its children in the set are done.
struct GraphResult {
    std::size_t persons = 0;
    std::vector<PersonId> in_cycle;  // persons that could not be ordered, sorted
};
using DerivedSink = std::function<void(const Links&, const Derived&)>;
using OutsideLookup = std::function<const Derived*(PersonId)>;
GraphResult derive_all(const std::vector<Links>& persons, const DerivedSink& sink,
                       const OutsideLookup& outside = nullptr);

// Each relative of `start` once, at its smallest depth (1: its parents, or
// its children), breadth first, up to `max_depth` if given. `step` gives the
// persons one step on from a frontier (repeats allowed); it is called once
// per depth.
using Step = std::function<std::vector<PersonId>(const std::vector<PersonId>&)>;
std::vector<std::pair<PersonId, int>> relatives(PersonId start, std::optional<int> max_depth,
                                                const Step& step);

std::string id_list(const std::vector<PersonId>& ids, std::size_t max_shown = 20);

}  // namespace family
