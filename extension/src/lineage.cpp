#include "lineage.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_set>

namespace family {

Derived derive(const std::optional<ParentView>& father, const std::optional<ParentView>& mother) {
    Derived d;
    const ParentView* parents[2] = {father ? &*father : nullptr, mother ? &*mother : nullptr};
    std::size_t depths = 0;
    for (const ParentView* p : parents) {
        if (!p) continue;
        d.generation = std::max(d.generation, p->generation + 1);
        depths = std::max(depths, std::min(kMaxDepth, p->ranks->depths() + 1));
    }
    d.ranks.sums.assign(depths, 0.0);
    d.ranks.counts.assign(depths, 0.0);
    for (const ParentView* p : parents) {
        if (!p) continue;
        d.ranks.sums[0] += p->rank;
        d.ranks.counts[0] += 1;
        for (std::size_t k = 1; k < depths && k - 1 < p->ranks->depths(); ++k) {
            d.ranks.sums[k] += p->ranks->sums[k - 1];
            d.ranks.counts[k] += p->ranks->counts[k - 1];
        }
    }
    return d;
}

std::optional<double> ancestor_rank(const RankVector& ranks) {
    if (ranks.depths() == 0) return std::nullopt;
    double weighted = 0, weights = 0;
    for (std::size_t k = 0; k < ranks.depths(); ++k) {
        double w = std::ldexp(1.0, -static_cast<int>(k));
        weighted += w * (ranks.sums[k] / ranks.counts[k]);
        weights += w;
    }
    return weighted / weights;
}

RankVector ranks_from_scratch(PersonId person, const LinksFetcher& fetch) {
    RankVector out;
    // Persons reached at the current depth, with the number of paths reaching them.
    std::unordered_map<PersonId, double> level{{person, 1.0}};
    for (std::size_t k = 0; k < kMaxDepth && !level.empty(); ++k) {
        std::vector<PersonId> ids;
        ids.reserve(level.size());
        for (const auto& [id, paths] : level) ids.push_back(id);
        std::vector<Links> rows = fetch(ids);
        if (k == 0 && rows.empty())
            throw Error("23503", "person " + std::to_string(person) + " does not exist");
        std::unordered_map<PersonId, double> next;
        double sum = 0, count = 0;
        for (const Links& row : rows) {
            double paths = level.at(row.id);
            if (row.father) {
                sum += paths * row.father_rank;
                count += paths;
                next[*row.father] += paths;
            }
            if (row.mother) {
                sum += paths * row.mother_rank;
                count += paths;
                next[*row.mother] += paths;
            }
        }
        if (count == 0) break;
        out.sums.push_back(sum);
        out.counts.push_back(count);
        level = std::move(next);
    }
    return out;
}

GraphResult derive_all(const std::vector<Links>& persons, const DerivedSink& sink,
                       const OutsideLookup& outside) {
    const std::size_t n = persons.size();
    std::unordered_map<PersonId, std::uint32_t> index;
    index.reserve(n);
    for (std::size_t i = 0; i < n; ++i) index.emplace(persons[i].id, static_cast<std::uint32_t>(i));

    // Children as a compressed adjacency list; a link to an unknown id is ignored.
    auto parent_index = [&](const std::optional<PersonId>& p) -> long {
        if (!p) return -1;
        auto it = index.find(*p);
        return it == index.end() ? -1 : static_cast<long>(it->second);
    };
    std::vector<std::uint32_t> pending_parents(n, 0), pending_children(n, 0), first_child(n + 1, 0);
    for (std::size_t i = 0; i < n; ++i)
        for (long p : {parent_index(persons[i].father), parent_index(persons[i].mother)})
            if (p >= 0) {
                ++pending_parents[i];
                ++pending_children[p];
                ++first_child[p + 1];
            }
    for (std::size_t i = 0; i < n; ++i) first_child[i + 1] += first_child[i];
    std::vector<std::uint32_t> children(first_child[n]),
        fill(first_child.begin(), first_child.end() - 1);
    for (std::size_t i = 0; i < n; ++i)
        for (long p : {parent_index(persons[i].father), parent_index(persons[i].mother)})
            if (p >= 0) children[fill[p]++] = static_cast<std::uint32_t>(i);

    std::vector<Derived> derived(n);
    std::deque<std::uint32_t> ready;
    for (std::size_t i = 0; i < n; ++i)
        if (pending_parents[i] == 0) ready.push_back(static_cast<std::uint32_t>(i));

    GraphResult result;
    auto view = [&](const std::optional<PersonId>& id, long p,
                    int rank) -> std::optional<ParentView> {
        if (p >= 0) return ParentView{rank, derived[p].generation, &derived[p].ranks};
        const Derived* o = id && outside ? outside(*id) : nullptr;
        if (!o) return std::nullopt;
        return ParentView{rank, o->generation, &o->ranks};
    };
    while (!ready.empty()) {
        std::uint32_t i = ready.front();
        ready.pop_front();
        const Links& row = persons[i];
        long f = parent_index(row.father), m = parent_index(row.mother);
        derived[i] =
            derive(view(row.father, f, row.father_rank), view(row.mother, m, row.mother_rank));
        sink(row, derived[i]);
        ++result.persons;
        for (long p : {f, m})
            if (p >= 0 && --pending_children[p] == 0) derived[p].ranks = RankVector{};
        if (pending_children[i] == 0) derived[i].ranks = RankVector{};
        for (std::uint32_t c = first_child[i]; c < first_child[i + 1]; ++c)
            if (--pending_parents[children[c]] == 0) ready.push_back(children[c]);
    }
    for (std::size_t i = 0; i < n; ++i)
        if (pending_parents[i] != 0) result.in_cycle.push_back(persons[i].id);
    std::sort(result.in_cycle.begin(), result.in_cycle.end());
    return result;
}

std::vector<std::pair<PersonId, int>> relatives(PersonId start, std::optional<int> max_depth,
                                                const Step& step) {
    std::vector<std::pair<PersonId, int>> out;
    std::unordered_set<PersonId> seen{start};
    std::vector<PersonId> frontier{start};
    for (int depth = 1; !frontier.empty() && (!max_depth || depth <= *max_depth); ++depth) {
        std::vector<PersonId> next;
        for (PersonId id : step(frontier))
            if (seen.insert(id).second) {
                next.push_back(id);
                out.emplace_back(id, depth);
            }
        frontier.swap(next);
    }
    return out;
}

std::string id_list(const std::vector<PersonId>& ids, std::size_t max_shown) {
    std::string out;
    for (std::size_t i = 0; i < ids.size() && i < max_shown; ++i) {
        if (i) out += ", ";
        out += std::to_string(ids[i]);
    }
    if (ids.size() > max_shown) out += " (and " + std::to_string(ids.size() - max_shown) + " more)";
    return out;
}

}  // namespace family
