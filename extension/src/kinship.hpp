// The English names of blood relations (SPEC 5a): how b is related to a,
// from the steps up from a to a nearest common ancestor (`up`) and down from
// it to b (`down`). Pure C++: no PostgreSQL header.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace family::kinship {

using PersonId = std::int64_t;

// What the walk needs of a person.
struct Person {
    std::optional<PersonId> father, mother;
    int generation = 0;  // larger than every ancestor's (the stored, derived one)
};

// One way b is related to a by blood: a nearest common ancestor (a common
// ancestor, a person counting as their own, that is no ancestor of another
// one), the fewest steps up from a to it and down from it to b.
struct Relation {
    PersonId ancestor;
    int up, down;
    bool operator==(const Relation& o) const {
        return ancestor == o.ancestor && up == o.up && down == o.down;
    }
};

// The nearest common ancestors of a and b, by up + down, then up, then id.
// Walks up from both at once, highest generation first (every child of a
// person is met before the person), and stops as soon as no new nearest
// common ancestor can be met: what lies above the ones found is not walked
// (in git's merge-base, the same walk). `fetch` gives a person (of the walk:
// a, b and their ancestors).
std::vector<Relation> nearest_common_ancestors(PersonId a, PersonId b,
                                               const std::function<Person(PersonId)>& fetch);

// Every person's parents and generation in flat arrays, by index (12 bytes
// a person): what family.kinship keeps between calls. Indices, not ids: the
// caller maps them.
struct ParentGraph {
    static constexpr std::int32_t kNone = -1;
    std::vector<std::int32_t> father, mother, generation;
    std::int32_t add(std::int32_t f, std::int32_t m, std::int32_t g) {
        father.push_back(f);
        mother.push_back(m);
        generation.push_back(g);
        return static_cast<std::int32_t>(generation.size() - 1);
    }
    std::int32_t size() const { return static_cast<std::int32_t>(generation.size()); }
    void resize(std::int32_t n) {
        father.resize(n);
        mother.resize(n);
        generation.resize(n);
    }
    void reserve(std::size_t n) {
        father.reserve(n);
        mother.reserve(n);
        generation.reserve(n);
    }
    // Whether persons [from, to) have generations of at least 0, above
    // their parents': what GraphWalk needs.
    bool in_order(std::int32_t from, std::int32_t to) const;
};

// nearest_common_ancestors' walk over a ParentGraph: the same persons in
// the same order of generations, but no hashing of persons into a map, no
// heap (one bucket a generation) and no call per person. Its scratch (the
// persons met, in an open-addressing table) is kept between runs, sized by
// the largest walk, not by the graph.
class GraphWalk {
  public:
    // Relation::ancestor is an index. The graph's generations must be in
    // order (ParentGraph::in_order): stored generations written behind the
    // triggers' back can make a walk that trusts them stop early, and only
    // nearest_common_ancestors' walk is right then. Nothing if the walk
    // meets such a generation anyway.
    std::optional<std::vector<Relation>> run(const ParentGraph& g, std::int32_t a, std::int32_t b);
    std::size_t visited() const { return used_; }  // persons met by the last run

  private:
    struct Seen {
        std::int32_t index;  // -1: a free slot
        std::uint8_t flags;
        std::int32_t from_a, from_b;
    };
    // The top bits of a Fibonacci hash: a slot of the power-of-two table.
    std::size_t slot_of(std::int32_t index) const {
        return static_cast<std::size_t>((static_cast<std::uint64_t>(index) * 0x9E3779B97F4A7C15ULL) >>
                                        shift_);
    }
    Seen& find(std::int32_t index, bool& fresh);
    Seen& at(std::int32_t index);
    void grow();
    std::vector<Seen> table_;
    std::vector<std::uint32_t> touched_;  // slots used by this run
    std::size_t used_ = 0;
    int shift_ = 64;
    std::vector<std::vector<std::int32_t>> buckets_;  // by generation
};

enum class Sex { Male, Female, Unknown };

// `sex` is b's; `half`: a and b share one parent only (u = d = 1).
// "self", "mother", "2nd great-grandson", "half-brother", "grandniece",
// "first cousin 3 times removed".
std::string term(int up, int down, Sex sex, bool half = false);

// 1st, 2nd, 3rd, 4th, 11th, 21st, ...
std::string ordinal(int n);

}  // namespace family::kinship
