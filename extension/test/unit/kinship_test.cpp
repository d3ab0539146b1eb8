// The names of blood relations (SPEC 5a), written out by hand.
#include <boost/test/unit_test.hpp>

#include <map>
#include <tuple>

#include "kinship.hpp"

using family::kinship::ordinal;
using family::kinship::Sex;
using family::kinship::term;

BOOST_AUTO_TEST_CASE(kinship_terms_in_a_line) {
    BOOST_TEST(term(0, 0, Sex::Female) == "self");
    BOOST_TEST(term(0, 1, Sex::Unknown) == "child");
    BOOST_TEST(term(0, 1, Sex::Male) == "son");
    BOOST_TEST(term(0, 2, Sex::Female) == "granddaughter");
    BOOST_TEST(term(0, 3, Sex::Unknown) == "great-grandchild");
    BOOST_TEST(term(0, 4, Sex::Male) == "2nd great-grandson");
    BOOST_TEST(term(0, 5, Sex::Unknown) == "3rd great-grandchild");
    BOOST_TEST(term(1, 0, Sex::Unknown) == "parent");
    BOOST_TEST(term(1, 0, Sex::Female) == "mother");
    BOOST_TEST(term(2, 0, Sex::Male) == "grandfather");
    BOOST_TEST(term(3, 0, Sex::Unknown) == "great-grandparent");
    BOOST_TEST(term(4, 0, Sex::Female) == "2nd great-grandmother");
    BOOST_TEST(term(13, 0, Sex::Unknown) == "11th great-grandparent");
}

BOOST_AUTO_TEST_CASE(kinship_terms_to_the_side) {
    BOOST_TEST(term(1, 1, Sex::Unknown) == "sibling");
    BOOST_TEST(term(1, 1, Sex::Male) == "brother");
    BOOST_TEST(term(1, 1, Sex::Female, true) == "half-sister");
    BOOST_TEST(term(1, 1, Sex::Unknown, true) == "half-sibling");
    BOOST_TEST(term(1, 2, Sex::Male) == "nephew");
    BOOST_TEST(term(1, 2, Sex::Unknown) == "nephew or niece");
    BOOST_TEST(term(1, 3, Sex::Female) == "grandniece");
    BOOST_TEST(term(1, 3, Sex::Unknown) == "grandnephew or grandniece");
    BOOST_TEST(term(1, 5, Sex::Unknown) == "2nd great-grandnephew or 2nd great-grandniece");
    BOOST_TEST(term(1, 4, Sex::Male) == "great-grandnephew");
    BOOST_TEST(term(1, 5, Sex::Female) == "2nd great-grandniece");
    BOOST_TEST(term(2, 1, Sex::Female) == "aunt");
    BOOST_TEST(term(2, 1, Sex::Unknown) == "uncle or aunt");
    BOOST_TEST(term(3, 1, Sex::Male) == "granduncle");
    BOOST_TEST(term(4, 1, Sex::Unknown) == "great-granduncle or great-grandaunt");
    BOOST_TEST(term(4, 1, Sex::Female) == "great-grandaunt");
    BOOST_TEST(term(6, 1, Sex::Male) == "3rd great-granduncle");
}

BOOST_AUTO_TEST_CASE(kinship_cousins) {
    BOOST_TEST(term(2, 2, Sex::Male) == "first cousin");
    BOOST_TEST(term(3, 2, Sex::Female) == "first cousin once removed");
    BOOST_TEST(term(2, 3, Sex::Unknown) == "first cousin once removed");
    BOOST_TEST(term(3, 4, Sex::Unknown) == "second cousin once removed");
    BOOST_TEST(term(4, 6, Sex::Unknown) == "third cousin twice removed");
    BOOST_TEST(term(2, 5, Sex::Unknown) == "first cousin 3 times removed");
    BOOST_TEST(term(11, 11, Sex::Unknown) == "tenth cousin");
    BOOST_TEST(term(12, 14, Sex::Unknown) == "11th cousin twice removed");
    BOOST_TEST(term(22, 22, Sex::Unknown) == "21st cousin");
}

BOOST_AUTO_TEST_CASE(kinship_ordinals) {
    std::string all;
    for (int n : {1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 23, 101, 111, 112})
        all += ordinal(n) + " ";
    BOOST_TEST(all == "1st 2nd 3rd 4th 10th 11th 12th 13th 21st 22nd 23rd 101st 111th 112th ");
}

namespace {

using family::kinship::nearest_common_ancestors;
using family::kinship::Person;
using family::kinship::PersonId;
using family::kinship::Relation;

std::string show(const std::vector<Relation>& rs) {
    std::string out;
    for (const Relation& r : rs)
        out += std::to_string(r.ancestor) + ":" + std::to_string(r.up) + "/" + std::to_string(r.down) + " ";
    return out;
}

// A genealogy in memory: id -> (father, mother); generations derived.
struct Tree {
    std::map<PersonId, std::pair<std::optional<PersonId>, std::optional<PersonId>>> parents;
    std::map<PersonId, int> generation;
    int fetched = 0;

    void add(PersonId id, std::optional<PersonId> father = {}, std::optional<PersonId> mother = {}) {
        parents[id] = {father, mother};
        int g = 0;
        for (auto p : {father, mother})
            if (p) g = std::max(g, generation.at(*p) + 1);
        generation[id] = g;
    }
    std::vector<Relation> kin(PersonId a, PersonId b) {
        fetched = 0;
        std::vector<Relation> found = nearest_common_ancestors(a, b, [&](PersonId id) {
            ++fetched;
            return Person{parents.at(id).first, parents.at(id).second, generation.at(id)};
        });
        // The flat walk finds the same.
        std::optional<std::vector<Relation>> flat = flat_kin(a, b);
        BOOST_TEST_REQUIRE(flat.has_value());
        BOOST_TEST(show(*flat) == show(found));
        return found;
    }
    // GraphWalk on the same persons, indexed in the order of their ids.
    family::kinship::GraphWalk walk;
    std::optional<std::vector<Relation>> flat_kin(PersonId a, PersonId b) {
        family::kinship::ParentGraph g;
        std::map<PersonId, std::int32_t> index;
        std::vector<PersonId> ids;
        for (const auto& entry : parents) {
            index[entry.first] = static_cast<std::int32_t>(ids.size());
            ids.push_back(entry.first);
        }
        for (const auto& [id, p] : parents)
            g.add(p.first ? index.at(*p.first) : -1, p.second ? index.at(*p.second) : -1,
                  generation.at(id));
        std::optional<std::vector<Relation>> out = walk.run(g, index.at(a), index.at(b));
        if (out)
            for (Relation& r : *out) r.ancestor = ids[r.ancestor];
        return out;
    }
    // Independent: every ancestor of each (self included) at its fewest
    // steps, the common ones, less those that are an ancestor of another.
    std::map<PersonId, int> up_from(PersonId start) const {
        std::map<PersonId, int> dist{{start, 0}};
        std::vector<PersonId> frontier{start};
        for (int d = 1; !frontier.empty(); ++d) {
            std::vector<PersonId> next;
            for (PersonId x : frontier)
                for (auto p : {parents.at(x).first, parents.at(x).second})
                    if (p && !dist.count(*p)) {
                        dist[*p] = d;
                        next.push_back(*p);
                    }
            frontier = next;
        }
        return dist;
    }
    std::vector<Relation> oracle(PersonId a, PersonId b) const {
        std::map<PersonId, int> da = up_from(a), db = up_from(b);
        std::vector<PersonId> common;
        for (auto [id, d] : da)
            if (db.count(id)) common.push_back(id);
        std::vector<Relation> out;
        for (PersonId c : common) {
            bool above_another = false;
            for (PersonId other : common)
                if (other != c && up_from(other).count(c)) above_another = true;
            if (!above_another) out.push_back({c, da[c], db[c]});
        }
        std::sort(out.begin(), out.end(), [](const Relation& x, const Relation& y) {
            return std::tuple(x.up + x.down, x.up, x.ancestor) < std::tuple(y.up + y.down, y.up, y.ancestor);
        });
        return out;
    }
};


}  // namespace

BOOST_AUTO_TEST_CASE(kinship_nearest_common_ancestors_by_hand) {
    Tree t;
    // 1 x 2 -> 3, 4 (full siblings); 1 x 5 -> 6 (half-sibling of 3);
    // 3 x 7 -> 8; 4 x 9 -> 10 (8 and 10 first cousins); 8 x 10 -> 11
    // (a cousin marriage: 11 descends from 1 and 2 two ways).
    for (PersonId id : {1, 2, 5, 7, 9}) t.add(id);
    t.add(3, 1, 2);
    t.add(4, 1, 2);
    t.add(6, 1, 5);
    t.add(8, 3, 7);
    t.add(10, 4, 9);
    t.add(11, 8, 10);
    t.add(12);  // a stranger
    BOOST_TEST(show(t.kin(3, 3)) == "3:0/0 ");
    BOOST_TEST(show(t.kin(3, 4)) == "1:1/1 2:1/1 ");
    BOOST_TEST(show(t.kin(3, 6)) == "1:1/1 ");
    BOOST_TEST(show(t.kin(8, 10)) == "1:2/2 2:2/2 ");
    BOOST_TEST(show(t.kin(1, 11)) == "1:0/3 ");
    BOOST_TEST(show(t.kin(11, 1)) == "1:3/0 ");
    BOOST_TEST(show(t.kin(11, 8)) == "8:1/0 ");
    BOOST_TEST(show(t.kin(11, 4)) == "4:2/0 ");  // a grandparent through 10
    BOOST_TEST(show(t.kin(11, 6)) == "1:3/1 ");  // through 8 and 3, the fewest steps
    BOOST_TEST(show(t.kin(11, 12)) == "");
    // Double cousins: two brothers marry two sisters.
    Tree d;
    for (PersonId id : {1, 2, 3, 4}) d.add(id);
    d.add(5, 1, 2);
    d.add(6, 1, 2);  // brothers
    d.add(7, 3, 4);
    d.add(8, 3, 4);  // sisters
    d.add(9, 5, 7);
    d.add(10, 6, 8);
    BOOST_TEST(show(d.kin(9, 10)) == "1:2/2 2:2/2 3:2/2 4:2/2 ");
}

BOOST_AUTO_TEST_CASE(kinship_walks_no_further_than_needed) {
    // Two siblings at the bottom of two lines of 10,000 generations (their
    // father's and their mother's): their parents are found without walking
    // the lines above them.
    Tree t;
    t.add(0);
    t.add(100000);
    for (PersonId g = 1; g <= 10000; ++g) {
        t.add(g, g - 1);
        t.add(100000 + g, {}, 100000 + g - 1);
    }
    t.add(20002, 10000, 110000);
    t.add(20003, 10000, 110000);
    BOOST_TEST(show(t.kin(20002, 20003)) == "10000:1/1 110000:1/1 ");
    BOOST_TEST(t.fetched < 10);
    BOOST_TEST(t.walk.visited() < 10);
    // The top of a line and the bottom: the line is the relation.
    BOOST_TEST(show(t.kin(20002, 0)) == "0:10001/0 ");
    // The worst case: a parent without ancestors (generation 0) beside one
    // 10,000 generations deep. Whether the shallow one is also an ancestor
    // of the deep one is known only once the walk has come down to their
    // generation: the deep line is walked (correctly, not quickly).
    t.add(30000);
    t.add(30001, 10000, 30000);
    t.add(30002, 10000, 30000);
    BOOST_TEST(show(t.kin(30001, 30002)) == "10000:1/1 30000:1/1 ");
    BOOST_TEST(t.fetched > 10000);
    BOOST_TEST(t.walk.visited() > 10000);
    // Its scratch is emptied between runs, however large the last one.
    BOOST_TEST(show(t.kin(20002, 20003)) == "10000:1/1 110000:1/1 ");
    BOOST_TEST(t.walk.visited() < 10);
}

BOOST_AUTO_TEST_CASE(kinship_flat_walk_refuses_generations_out_of_order) {
    // Stored generations written behind the triggers' back: the flat walk
    // says so (the caller then takes nearest_common_ancestors' walk, which
    // queues a person again when a later child reaches it).
    using family::kinship::GraphWalk;
    using family::kinship::ParentGraph;
    GraphWalk walk;
    auto graph = [](std::vector<std::int32_t> generations) {
        ParentGraph g;
        g.add(-1, -1, generations[0]);  // 0
        g.add(-1, -1, generations[1]);  // 1
        g.add(0, 1, generations[2]);    // 2
        g.add(0, 1, generations[3]);    // 3
        return g;
    };
    BOOST_TEST(show(*walk.run(graph({0, 0, 1, 1}), 2, 3)) == "0:1/1 1:1/1 ");
    BOOST_TEST(!walk.run(graph({0, 1, 1, 1}), 2, 3).has_value());   // a parent level with its child
    BOOST_TEST(!walk.run(graph({0, -1, 1, 1}), 2, 3).has_value());  // below 0
    BOOST_TEST(!walk.run(graph({0, 0, -1, 1}), 2, 3).has_value());  // a, below 0
    BOOST_TEST(!walk.run(graph({0, 0, 1, 4}), 2, 3).has_value());   // b, above the persons' count
    BOOST_TEST(show(*walk.run(graph({0, 0, 1, 3}), 2, 3)) == "0:1/1 1:1/1 ");  // a gap is no disorder
    // What the caller checks first: a walk can stop before it meets the
    // edge out of order (a father and his son both at generation 0: the
    // father's side closes at once), so only in_order() tells.
    BOOST_TEST(graph({0, 0, 1, 1}).in_order(0, 4));
    BOOST_TEST(graph({0, 0, 1, 3}).in_order(0, 4));
    BOOST_TEST(!graph({0, 1, 1, 1}).in_order(0, 4));
    BOOST_TEST(graph({0, 1, 1, 1}).in_order(2, 2));  // an empty range
    BOOST_TEST(!graph({0, -1, 1, 1}).in_order(1, 2));
    BOOST_TEST(graph({0, 1, 2, 2}).in_order(0, 2));  // only the range's own edges
    ParentGraph line;
    line.add(-1, -1, 0);
    line.add(0, -1, 0);
    BOOST_TEST(!line.in_order(0, 2));
}

BOOST_AUTO_TEST_CASE(kinship_nearest_common_ancestors_against_an_oracle) {
    // Random genealogies: persons in order, each with up to two parents
    // among the earlier ones (some far back, some near).
    std::uint64_t seed = 12345;
    auto random = [&](std::uint64_t n) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return (seed >> 33) % n;
    };
    int checked = 0, related = 0;
    for (int round = 0; round < 40; ++round) {
        Tree t;
        int n = 20 + static_cast<int>(random(60));
        for (PersonId id = 0; id < n; ++id) {
            std::optional<PersonId> father, mother;
            if (id > 2 && random(5)) father = static_cast<PersonId>(random(id));
            if (id > 2 && random(5)) {
                PersonId m = static_cast<PersonId>(id - 1 - random(std::min<std::uint64_t>(id, 6)));
                if (m != father) mother = m;
            }
            t.add(id, father, mother);
        }
        for (int pair = 0; pair < 30; ++pair) {
            PersonId a = static_cast<PersonId>(random(n)), b = static_cast<PersonId>(random(n));
            std::vector<Relation> want = t.oracle(a, b);
            BOOST_TEST_INFO("round " << round << ": " << a << " and " << b);
            BOOST_TEST(show(t.kin(a, b)) == show(want));
            ++checked;
            related += !want.empty();
        }
    }
    BOOST_TEST(checked == 1200);
    BOOST_TEST(related > 600);  // the genealogies relate most pairs: the test bites
}
