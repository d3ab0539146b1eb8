// The kinship walks (extension/src/kinship.cpp) alone, in memory: no
// PostgreSQL. bench.py runs them on the pairs it gives family.kinship, to
// tell the walk's own cost from the rest. Two walks over the same persons:
// nearest_common_ancestors (a map of the persons met, a heap, a call per
// person: what family.kinship runs when it reads persons through the
// index) and GraphWalk over a ParentGraph (what it runs over its cache).
//   kinship_walk PERSONS.csv PAIRS.txt   (id,father_id,mother_id,generation; "a b" per line)
// Prints: median_ms p99_ms visited_median visited_p99 flat_median_ms flat_p99_ms
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kinship.hpp"

using family::kinship::Person;
using family::kinship::PersonId;

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: kinship_walk PERSONS.csv PAIRS.txt\n");
        return 2;
    }
    std::vector<Person> people;
    FILE* f = std::fopen(argv[1], "r");
    char line[256];
    while (f && std::fgets(line, sizeof line, f)) {
        char* p = line;
        long id = std::strtol(p, &p, 10);
        long father = *++p == ',' ? 0 : std::strtol(p, &p, 10);
        long mother = *++p == ',' ? 0 : std::strtol(p, &p, 10);
        if (static_cast<long>(people.size()) <= id) people.resize(id + 1);
        Person& person = people[id];
        if (father) person.father = father;
        if (mother) person.mother = mother;
        person.generation = std::atoi(p + 1);
    }
    // The same persons as a ParentGraph, indexed by id (the ids are dense).
    family::kinship::ParentGraph graph;
    for (const Person& person : people)
        graph.add(person.father ? static_cast<std::int32_t>(*person.father) : -1,
                  person.mother ? static_cast<std::int32_t>(*person.mother) : -1, person.generation);
    family::kinship::GraphWalk flat_walk;
    std::vector<double> ms, flat_ms;
    std::vector<long> visits;
    std::vector<std::pair<long, long>> pair_list;
    FILE* pairs = std::fopen(argv[2], "r");
    long a, b;
    while (pairs && std::fscanf(pairs, "%ld %ld", &a, &b) == 2) {
        long visited = 0;
        auto start = std::chrono::steady_clock::now();
        family::kinship::nearest_common_ancestors(a, b, [&](PersonId id) {
            ++visited;
            return people[id];
        });
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        visits.push_back(visited);
        pair_list.emplace_back(a, b);
    }
    // The flat walk in a loop of its own: the first one's maps and heaps
    // would leave it a cold cache.
    for (auto [a, b] : pair_list) {
        auto start = std::chrono::steady_clock::now();
        if (!flat_walk.run(graph, static_cast<std::int32_t>(a), static_cast<std::int32_t>(b))) return 1;
        flat_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    if (ms.empty()) return 1;
    std::sort(ms.begin(), ms.end());
    std::sort(visits.begin(), visits.end());
    std::sort(flat_ms.begin(), flat_ms.end());
    std::size_t n = ms.size(), p99 = std::max<std::size_t>(n * 99 / 100, 1) - 1;
    std::printf("%.2f %.2f %ld %ld %.2f %.2f\n", ms[n / 2], ms[p99], visits[n / 2], visits[p99],
                flat_ms[n / 2], flat_ms[p99]);
    return 0;
}
