// The kinship walk (extension/src/kinship.cpp) alone, in memory: no
// PostgreSQL, every person an array lookup. bench.py runs it on the pairs it
// gives family.kinship, to tell the walk's own size from the cost of reading
// persons through the index.
//   kinship_walk PERSONS.csv PAIRS.txt   (id,father_id,mother_id,generation; "a b" per line)
// Prints: median_ms p99_ms visited_median visited_p99
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
    std::vector<double> ms;
    std::vector<long> visits;
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
    }
    if (ms.empty()) return 1;
    std::sort(ms.begin(), ms.end());
    std::sort(visits.begin(), visits.end());
    std::size_t n = ms.size(), p99 = std::max<std::size_t>(n * 99 / 100, 1) - 1;
    std::printf("%.2f %.2f %ld %ld\n", ms[n / 2], ms[p99], visits[n / 2], visits[p99]);
    return 0;
}
