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

enum class Sex { Male, Female, Unknown };

// `sex` is b's; `half`: a and b share one parent only (u = d = 1).
// "self", "mother", "2nd great-grandson", "half-brother", "grandniece",
// "first cousin 3 times removed".
std::string term(int up, int down, Sex sex, bool half = false);

// 1st, 2nd, 3rd, 4th, 11th, 21st, ...
std::string ordinal(int n);

}  // namespace family::kinship
