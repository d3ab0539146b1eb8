// The pure core: derived values, the from-scratch walk, revisit order and
// the whole-graph recomputation, checked against each other.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>

#include "lineage.hpp"

using namespace family;

namespace {

// An in-memory genealogy with both ways of computing derived values.
struct Graph {
    std::map<PersonId, Links> persons;

    PersonId add(std::optional<PersonId> father = {}, int father_rank = 0,
                 std::optional<PersonId> mother = {}, int mother_rank = 0) {
        PersonId id = static_cast<PersonId>(persons.size()) + 1;
        persons[id] = Links{id, father, mother, father_rank, mother_rank};
        return id;
    }
    LinksFetcher fetcher() const {
        return [this](const std::vector<PersonId>& ids) {
            std::vector<Links> out;
            for (PersonId id : ids)
                if (auto it = persons.find(id); it != persons.end()) out.push_back(it->second);
            return out;
        };
    }
    std::vector<Links> all() const {
        std::vector<Links> out;
        for (const auto& [id, links] : persons) out.push_back(links);
        return out;
    }
    // Derived values by the trigger path: parents first (ids are topological).
    std::map<PersonId, Derived> incremental() const {
        std::map<PersonId, Derived> d;
        for (const auto& [id, l] : persons) {
            auto view = [&](std::optional<PersonId> p, int rank) -> std::optional<ParentView> {
                if (!p) return std::nullopt;
                return ParentView{rank, d.at(*p).generation, &d.at(*p).ranks};
            };
            d[id] = derive(view(l.father, l.father_rank), view(l.mother, l.mother_rank));
        }
        return d;
    }
    double rank(PersonId id) const { return *ancestor_rank(incremental().at(id).ranks); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_person_without_parents_has_generation_0_and_no_rank) {
    Derived d = derive(std::nullopt, std::nullopt);
    BOOST_TEST(d.generation == 0);
    BOOST_TEST(d.ranks.depths() == 0u);
    BOOST_TEST(!ancestor_rank(d.ranks).has_value());
}

BOOST_AUTO_TEST_CASE(spec_example_1_two_parents_no_grandparents) {
    Graph g;
    PersonId f = g.add(), m = g.add(), u = g.add(f, 4, m, 2);
    BOOST_TEST(g.rank(u) == 3.0);
    BOOST_TEST(g.incremental().at(u).generation == 1);
}

BOOST_AUTO_TEST_CASE(spec_example_2_one_side_has_grandparents) {
    Graph g;
    PersonId ff = g.add(), fm = g.add(), f = g.add(ff, 5, fm, 5), m = g.add(),
             u = g.add(f, 4, m, 2);
    BOOST_TEST(std::abs(g.rank(u) - 11.0 / 3) < 1e-15);
}

BOOST_AUTO_TEST_CASE(spec_example_3_single_parents) {
    Graph g;
    PersonId ff = g.add(), f = g.add(ff, 5), u = g.add(f, 1);
    BOOST_TEST(std::abs(g.rank(u) - 7.0 / 3) < 1e-15);
}

BOOST_AUTO_TEST_CASE(spec_example_4_three_depths) {
    Graph g;
    std::vector<PersonId> gg;
    for (int i = 0; i < 8; ++i) gg.push_back(g.add());
    PersonId ff = g.add(gg[0], 4, gg[1], 4), fm = g.add(gg[2], 4, gg[3], 4);
    PersonId mf = g.add(gg[4], 4, gg[5], 4), mm = g.add(gg[6], 4, gg[7], 4);
    PersonId f = g.add(ff, 5, fm, 3), m = g.add(mf, 1, mm, 1), u = g.add(f, 4, m, 2);
    BOOST_TEST(g.rank(u) == 3.0);
    Derived d = g.incremental().at(u);
    BOOST_TEST(d.ranks.counts == (std::vector<double>{2, 4, 8}));
    BOOST_TEST(d.ranks.sums == (std::vector<double>{6, 10, 32}));
}

BOOST_AUTO_TEST_CASE(generation_is_one_more_than_the_older_parent) {
    Graph g;
    PersonId a = g.add(), b = g.add(a, 1), c = g.add(b, 1), x = g.add(), u = g.add(c, 2, x, 2);
    BOOST_TEST(g.incremental().at(u).generation == 3);
}

BOOST_AUTO_TEST_CASE(vectors_stop_at_64_depths) {
    Graph g;
    PersonId last = g.add();
    for (int i = 0; i < 200; ++i) last = g.add(last, 1 + i % 5);
    Derived d = g.incremental().at(last);
    BOOST_TEST(d.generation == 200);
    BOOST_TEST(d.ranks.depths() == kMaxDepth);
    BOOST_TEST((ranks_from_scratch(last, g.fetcher()) == d.ranks));
}

BOOST_AUTO_TEST_CASE(a_shared_ancestor_counts_once_per_line) {
    // Cousins marry: their child reaches the common grandparents' links twice.
    Graph g;
    PersonId ggf = g.add(), gp = g.add(ggf, 5), gm = g.add();
    PersonId s1 = g.add(gp, 2, gm, 2), s2 = g.add(gp, 2, gm, 2);
    PersonId c1 = g.add(s1, 3), c2 = g.add(s2, 3), u = g.add(c1, 1, c2, 1);
    RankVector r = ranks_from_scratch(u, g.fetcher());
    BOOST_TEST(r.counts == (std::vector<double>{2, 2, 4, 2}));
    BOOST_TEST(r.sums == (std::vector<double>{2, 6, 8, 10}));
    BOOST_TEST((r == g.incremental().at(u).ranks));
}

BOOST_AUTO_TEST_CASE(from_scratch_of_an_unknown_person_is_23503) {
    Graph g;
    try {
        ranks_from_scratch(42, g.fetcher());
        BOOST_FAIL("no error");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.sqlstate()) == "23503");
        BOOST_TEST(std::string(e.what()) == "person 42 does not exist");
        BOOST_TEST(e.detail().empty());
    }
}

BOOST_AUTO_TEST_CASE(from_scratch_terminates_on_a_cycle) {
    Graph g;
    PersonId a = g.add(), b = g.add(a, 3);
    g.persons[a].father = b;
    g.persons[a].father_rank = 3;
    BOOST_TEST(ranks_from_scratch(a, g.fetcher()).depths() == kMaxDepth);
}

BOOST_AUTO_TEST_CASE(whole_graph_recomputation_agrees_on_a_random_genealogy) {
    // Random couples over 40 generations, with remarriages, single parents
    // and cousin marriages; both paths and the from-scratch walk must agree.
    std::mt19937 rng(12345);
    Graph g;
    std::vector<PersonId> previous;
    for (int i = 0; i < 30; ++i) previous.push_back(g.add());
    for (int gen = 1; gen < 40; ++gen) {
        std::vector<PersonId> current;
        for (int i = 0; i < 30; ++i) {
            std::uniform_int_distribution<std::size_t> pick(0, previous.size() - 1);
            std::uniform_int_distribution<int> rank(1, 5);
            PersonId f = previous[pick(rng)], m = previous[pick(rng)];
            if (i % 7 == 0 || f == m)
                current.push_back(g.add(f, rank(rng)));
            else
                current.push_back(g.add(f, rank(rng), m, rank(rng)));
        }
        for (int i = 0; i < 3; ++i) current.push_back(g.add());
        previous = current;
    }
    std::map<PersonId, Derived> expected = g.incremental();
    std::size_t seen = 0;
    GraphResult r = derive_all(g.all(), [&](const Links& l, const Derived& d) {
        ++seen;
        BOOST_TEST((d == expected.at(l.id)));
    });
    BOOST_TEST(r.persons == g.persons.size());
    BOOST_TEST(seen == g.persons.size());
    BOOST_TEST(r.in_cycle.empty());
    for (PersonId id = 1; id <= static_cast<PersonId>(g.persons.size()); id += 37)
        BOOST_TEST((ranks_from_scratch(id, g.fetcher()) == expected.at(id).ranks));
}

BOOST_AUTO_TEST_CASE(whole_graph_recomputation_reports_cycles_and_what_hangs_below) {
    Graph g;
    PersonId root = g.add(), a = g.add(root, 1), b = g.add(a, 2), c = g.add(b, 3),
             below = g.add(c, 4);
    g.persons[a].mother = c;  // a -> b -> c -> a
    g.persons[a].mother_rank = 1;
    std::vector<PersonId> done;
    GraphResult r =
        derive_all(g.all(), [&](const Links& l, const Derived&) { done.push_back(l.id); });
    BOOST_TEST(done == (std::vector<PersonId>{root}));
    BOOST_TEST(r.in_cycle == (std::vector<PersonId>{a, b, c, below}));
}

BOOST_AUTO_TEST_CASE(a_link_to_an_unknown_person_is_ignored_by_the_recomputation) {
    std::vector<Links> persons{{1, std::nullopt, std::nullopt, 0, 0}, {2, 1, 99, 3, 3}};
    std::map<PersonId, Derived> got;
    derive_all(persons, [&](const Links& l, const Derived& d) { got[l.id] = d; });
    BOOST_TEST(got.at(2).generation == 1);
    BOOST_TEST(got.at(2).ranks.counts == (std::vector<double>{1}));
}

BOOST_AUTO_TEST_CASE(parents_outside_the_set_come_from_the_lookup) {
    // A subgraph recomputation: persons 2 and 3 recomputed, 1 read as stored.
    RankVector none;
    Derived stored_1 = derive(ParentView{4, 0, &none}, std::nullopt);
    std::vector<Links> set{{3, 2, std::nullopt, 5, 0}, {2, 1, std::nullopt, 2, 0}};
    std::map<PersonId, Derived> got;
    GraphResult r = derive_all(
        set, [&](const Links& l, const Derived& d) { got[l.id] = d; },
        [&](PersonId id) { return id == 1 ? &stored_1 : nullptr; });
    BOOST_TEST(r.in_cycle.empty());
    BOOST_TEST(got.at(2).generation == 2);
    BOOST_TEST(got.at(3).generation == 3);
    BOOST_TEST(got.at(3).ranks.counts == (std::vector<double>{1, 1, 1}));
    BOOST_TEST(got.at(3).ranks.sums == (std::vector<double>{5, 2, 4}));
}

BOOST_AUTO_TEST_CASE(id_lists_are_capped) {
    BOOST_TEST(id_list({}) == "");
    BOOST_TEST(id_list({1, 2, 3}) == "1, 2, 3");
    BOOST_TEST(id_list({1, 2, 3, 4}, 2) == "1, 2 (and 2 more)");
}

BOOST_AUTO_TEST_CASE(derived_values_compare_by_generation_and_vectors) {
    Derived a, b;
    BOOST_TEST((a == b));
    b.generation = 1;
    BOOST_TEST((a != b));
    b = a;
    b.ranks.sums = {1};
    b.ranks.counts = {1};
    BOOST_TEST((a != b));
    BOOST_TEST((a.ranks != b.ranks));
}
