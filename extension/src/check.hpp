// The pure C++ side of the consistency check (SPEC section 6): what a person's
// stored values must be, given its parents' stored values, and the report a
// run mails. No PostgreSQL header here: unit-tested on its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lineage.hpp"

namespace family::check {

// One person as stored, with what the check needs of its parents.
struct StoredParent {
    int generation = 0;
    RankVector ranks;
};
struct StoredPerson {
    PersonId id = 0;
    std::optional<PersonId> father, mother;
    std::optional<int> father_rank, mother_rank;
    int generation = 0;
    std::optional<double> rank;  // ancestor_relationship_rank
    RankVector ranks;
    // The rows father_id and mother_id point to; null: no such row.
    const StoredParent* father_row = nullptr;
    const StoredParent* mother_row = nullptr;
    bool couple = true;  // false: both parents known and never a couple
};

struct Finding {
    PersonId person = 0;
    std::string kind;  // see check_person and check_relationships
    std::string expected, actual;
    std::optional<std::int64_t> relationship;  // the relationship it is about
};

// One relationship as stored.
struct StoredRelationship {
    std::int64_t id = 0;
    PersonId a = 0, b = 0;
    bool current = false;  // ended_at is null
};

// Checks one person locally, appending what is wrong to `out`, each kind at
// most once: missing_father, missing_mother, father_rank_pairing,
// mother_rank_pairing, couple, generation, link_vectors, ancestor_rank. Local consistency everywhere implies global consistency,
// and generation strictly increasing along every link proves no cycle.
void check_person(const StoredPerson& p, std::vector<Finding>& out);

// Checks a slice of relationships against their rules, appending to `out`:
//  - relationship_person: a person it names does not exist (`existing`
//    holds those of the slice's persons that do);
//  - current_relationships: a person has more than one current relationship
//    (`current` maps each person of the slice's current relationships to
//    the ids of all their current ones, sorted). Reported once, by the
//    slice that holds the smallest of those ids.
void check_relationships(const std::vector<StoredRelationship>& slice,
                         const std::set<PersonId>& existing,
                         const std::map<PersonId, std::vector<std::int64_t>>& current,
                         std::vector<Finding>& out);

// Text of a vector, e.g. "{4, 2}/{1, 1}" (sums/counts), for findings.
std::string format_ranks(const RankVector& r);

// Everything a run's report holds; times are seconds since the run started.
struct ErrorReport {
    std::string where;  // "worker 1 (pid 123)" or "coordinator"
    std::string sqlstate, message, detail, context, exception_type, stack_trace;
    std::optional<int> worker;  // the worker's number; none: the coordinator
};
struct WorkerReport {
    int number = 0;
    int pid = 0;
    double started = 0, finished = 0;
    std::int64_t persons = 0, slices = 0, findings = 0;
    std::string status;  // done, failed, lost
};
struct RunReport {
    std::int64_t run_id = 0;
    std::string database, status, started_at, finished_at;
    double seconds = 0;
    int workers_requested = 0;
    std::int64_t persons = 0, relationships = 0, findings_total = 0;
    std::string note;  // e.g. why fewer workers ran than requested
    std::vector<WorkerReport> workers;
    std::vector<Finding> findings;  // the first ones, by person
    std::vector<ErrorReport> errors;
};

constexpr std::size_t kMailedFindings = 100;

// Persons per slice for `workers` over ids spanning `span`: about 16 slices
// per worker, so that a faster worker takes more; not so small that
// per-slice costs show, nor so large that a slice's rows weigh on memory.
std::int64_t slice_size(std::int64_t span, int workers);

// failed (any error), findings, or clean.
std::string run_status(const RunReport& r);

std::string report_subject(const RunReport& r);
std::string report_body(const RunReport& r);

}  // namespace family::check
