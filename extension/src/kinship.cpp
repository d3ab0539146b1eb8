#include "kinship.hpp"

#include <algorithm>
#include <cstdlib>

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
    if (up == 1) {
        std::string base = word(sex, "nephew", "niece", "nephew or niece");
        return down == 2 ? base : greats(down - 3) + "grand" + base;
    }
    if (down == 1) {
        std::string base = word(sex, "uncle", "aunt", "uncle or aunt");
        return up == 2 ? base : greats(up - 3) + "grand" + base;
    }
    int removed = std::abs(up - down);
    std::string cousin = cousin_degree(std::min(up, down) - 1) + " cousin";
    if (removed == 0) return cousin;
    return cousin + (removed == 1   ? " once removed"
                     : removed == 2 ? " twice removed"
                                    : " " + std::to_string(removed) + " times removed");
}

}  // namespace family::kinship
