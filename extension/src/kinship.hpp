// The English names of blood relations (SPEC 5a): how b is related to a,
// from the steps up from a to a nearest common ancestor (`up`) and down from
// it to b (`down`). Pure C++: no PostgreSQL header.
#pragma once

#include <string>

namespace family::kinship {

enum class Sex { Male, Female, Unknown };

// `sex` is b's; `half`: a and b share one parent only (u = d = 1).
// "self", "mother", "2nd great-grandson", "half-brother", "grandniece",
// "first cousin 3 times removed".
std::string term(int up, int down, Sex sex, bool half = false);

// 1st, 2nd, 3rd, 4th, 11th, 21st, ...
std::string ordinal(int n);

}  // namespace family::kinship
