// The domain's rules (rules.hpp), the relatives walk, and the check's slice
// sizing and run status, each on its own.
#include <boost/test/unit_test.hpp>

#include <map>

#include "check.hpp"
#include "lineage.hpp"
#include "rules.hpp"

using namespace family;
using namespace family::rules;

namespace {

// The SQLSTATE and message `f` throws, or ("", "") if it throws nothing.
template <typename F>
std::pair<std::string, std::string> thrown(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return {e.sqlstate(), e.what()};
    }
    return {"", ""};
}

std::string show(std::int64_t t) {
    return "t" + std::to_string(t);
}

}  // namespace

BOOST_AUTO_TEST_CASE(ranks_are_1_to_5) {
    for (int r : {1, 2, 3, 4, 5}) BOOST_TEST(rank_in_range(r));
    for (int r : {-1, 0, 6, 32767}) BOOST_TEST(!rank_in_range(r));
}

BOOST_AUTO_TEST_CASE(a_couple_is_the_same_either_way_round) {
    BOOST_TEST((couple_of(7, 3) == Couple{3, 7}));
    BOOST_TEST((couple_of(3, 7) == Couple{3, 7}));
}

BOOST_AUTO_TEST_CASE(links_rules_in_order) {
    auto links = [](std::optional<PersonId> f, std::optional<std::int64_t> fr,
                    std::optional<PersonId> m, std::optional<std::int64_t> mr) {
        return thrown([&] { check_links({10, f, m, fr, mr}); });
    };
    BOOST_TEST(links(1, 3, 2, 4).first == "");
    BOOST_TEST(links({}, {}, {}, {}).first == "");
    BOOST_TEST(links(10, 3, {}, {}).second == "person 10 cannot be their own father");
    BOOST_TEST(links({}, {}, 10, 3).second == "person 10 cannot be their own mother");
    BOOST_TEST(links(1, 3, 1, 3).second == "person 10: father and mother are the same person 1");
    BOOST_TEST(links(1, {}, {}, {}).second == "person 10: father 1 needs a father_rank (1..5)");
    BOOST_TEST(links({}, 3, {}, {}).second == "person 10: father_rank 3 given without a father_id");
    BOOST_TEST(links({}, {}, 2, 0).second == "person 10: mother_rank 0 is out of range 1..5");
    BOOST_TEST(links(1, 6, {}, {}).first == "23514");
}

BOOST_AUTO_TEST_CASE(relationship_rules) {
    auto rel = [](PersonId a, PersonId b, std::int64_t start, std::optional<std::int64_t> end,
                  std::optional<RelationshipRow> old = {}) {
        return thrown([&] { check_relationship({5, a, b, start, end}, old, show); });
    };
    BOOST_TEST(rel(1, 2, 10, {}).first == "");
    BOOST_TEST(rel(1, 2, 10, 10).first == "");
    BOOST_TEST(rel(1, 2, 10, 9).second == "relationship 5 cannot end (t9) before it started (t10)");
    BOOST_TEST(rel(1, 3, 10, {}, RelationshipRow{5, 1, 2, 10, {}}).second ==
               "relationship 5: the persons of a relationship cannot change");
    BOOST_TEST(rel(1, 2, 10, 20, RelationshipRow{5, 1, 2, 10, {}}).first == "");
    BOOST_TEST(rel(4, 4, 10, {}).second ==
               "relationship 5: person 4 cannot be in a relationship with themselves");
    // Ended, it is left to the table's CHECK constraint.
    BOOST_TEST(rel(4, 4, 10, 20).first == "");
}

BOOST_AUTO_TEST_CASE(cycle_message_names_a_changed_person) {
    // 1 -> 2 -> 3 -> 1 (child -> parent), 4 a child of 3: 2 was changed.
    std::vector<Links> set{{1, 3, {}, 3, 0}, {2, 1, {}, 3, 0}, {3, 2, {}, 3, 0}, {4, 3, {}, 3, 0}};
    auto e = thrown([&] { cycle_error(set, {2}, {1, 2, 3, 4}); });
    BOOST_TEST(e.first == "FA001");
    BOOST_TEST(e.second == "person 2 would become their own ancestor: parent 1 descends from person 2");
    // Changed: 4, below the cycle, and 3 on it; 4 comes first but is not
    // its own ancestor.
    e = thrown([&] { cycle_error(set, {4, 3}, {1, 2, 3, 4}); });
    BOOST_TEST(e.second == "person 3 would become their own ancestor: parent 2 descends from person 3");
    // Changed: only 4: the cycle was there before.
    e = thrown([&] { cycle_error(set, {4}, {1, 2, 3, 4}); });
    BOOST_TEST(e.second == "persons 1, 2, 3, 4 are their own ancestors or descend from such a cycle");
}

BOOST_AUTO_TEST_CASE(propagation_reads_again_only_when_it_may_differ) {
    BOOST_TEST(!must_read_again(false, false));
    BOOST_TEST(must_read_again(false, true));
    BOOST_TEST(must_read_again(true, false));
    // The same set: done, at every level.
    BOOST_TEST(!start_over(true, false, 0, {1}));
    BOOST_TEST(!start_over(true, true, 0, {1}));
    // Moved at READ COMMITTED: again, up to the last attempt.
    BOOST_TEST(start_over(false, false, 0, {1}));
    BOOST_TEST(start_over(false, false, kMostAttempts - 2, {1}));
    auto last = thrown([] { start_over(false, false, kMostAttempts - 1, {1, 2}); });
    BOOST_TEST(last.first == "40001");
    BOOST_TEST(last.second ==
               "could not serialize access: the descendants of persons 1, 2 keep changing "
               "concurrently");
    // Moved under a fixed snapshot: 40001 at once.
    auto fixed = thrown([] { start_over(false, true, 0, {7}); });
    BOOST_TEST(fixed.second ==
               "could not serialize access: the descendants of person 7 changed concurrently");
}

BOOST_AUTO_TEST_CASE(relatives_each_once_at_the_smallest_depth) {
    // Children: 1 -> {2, 3}, 2 -> {4}, 3 -> {4, 5}, 4 -> {6}.
    std::map<PersonId, std::vector<PersonId>> children{{1, {2, 3}}, {2, {4}}, {3, {4, 5}}, {4, {6}}};
    int calls = 0;
    Step step = [&](const std::vector<PersonId>& frontier) {
        ++calls;
        std::vector<PersonId> out;
        for (PersonId p : frontier)
            for (PersonId c : children[p]) out.push_back(c);
        return out;
    };
    using R = std::vector<std::pair<PersonId, int>>;
    BOOST_TEST((relatives(1, std::nullopt, step) == R{{2, 1}, {3, 1}, {4, 2}, {5, 2}, {6, 3}}));
    BOOST_TEST(calls == 4);  // the last depth finds nobody new
    BOOST_TEST((relatives(1, 1, step) == R{{2, 1}, {3, 1}}));
    BOOST_TEST((relatives(1, 0, step) == R{}));
    BOOST_TEST((relatives(6, std::nullopt, step) == R{}));
}

BOOST_AUTO_TEST_CASE(check_slices_and_status) {
    BOOST_TEST(check::slice_size(1'000'000, 2) == 10000);
    BOOST_TEST(check::slice_size(1'000'000, 32) == 1953);
    BOOST_TEST(check::slice_size(100, 2) == 1000);
    BOOST_TEST(check::slice_size(100, 0) == 1000);
    check::RunReport r;
    BOOST_TEST(check::run_status(r) == "clean");
    r.findings_total = 3;
    BOOST_TEST(check::run_status(r) == "findings");
    r.errors.push_back({"coordinator"});
    BOOST_TEST(check::run_status(r) == "failed");
}

BOOST_AUTO_TEST_CASE(rules_text_to_show) {
    BOOST_TEST(!text_error(""));
    BOOST_TEST(!text_error("Zo\xC3\xAB \xE5\xB1\xB1\xE7\x94\xB0 \xF0\x9F\x98\x80 O'Neil-Smith"));
    BOOST_TEST(!text_error(std::string(200, 'x')));
    BOOST_TEST(!text_error(std::string(100, 'x') + std::string(50, 'x') + "\xC3\xAB"));
    BOOST_TEST(*text_error(std::string(201, 'x')) == "is 201 characters long, more than 200");
    BOOST_TEST(*text_error("a\nb") == "holds U+000A, a control character");
    BOOST_TEST(*text_error("\x7F") == "holds U+007F, a control character");
    BOOST_TEST(*text_error("\xC2\x9F") == "holds U+009F, a control character");
    BOOST_TEST(!text_error("\xC2\xA0"));  // no-break space: text
    BOOST_TEST(*text_error("\xE2\x80\xAE" "evil") == "holds U+202E, which reorders or breaks the text");
    for (const char* layout : {"\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAA", "\xE2\x81\xA6", "\xE2\x81\xA9"})
        BOOST_TEST(text_error(layout).has_value());
    BOOST_TEST(!text_error("\xE2\x80\xA7\xE2\x80\xAF\xE2\x81\xA5\xE2\x81\xAA"));  // their neighbours
}
