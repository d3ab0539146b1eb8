// An import decided before anything is written (SPEC 5b). From a file's
// INDI and FAM records: the persons to create, parents before their
// children, with their links and ranks; the relationships with their times;
// and, with its line, everything skipped or taken otherwise than written.
// Pure C++: no PostgreSQL header.
//
// Skipped ("error"): a second record with a taken xref, a link to a record
// that is not there, a child's second family (a person has one father and
// one mother), a link that would make someone their own parent or ancestor,
// a rank out of 1..5. Taken otherwise ("warning"): a name, place, sex or
// date that breaks its rule is left out, and the person imported without it.
// Every INDI is a person or skipped; every CHIL/FAMC link (a child and a
// family, counted once however often written) is imported or skipped.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gedcom_date.hpp"
#include "gedcom_reader.hpp"

namespace family::gedcom {

enum class Severity { Skipped, Warning };
const char* severity_name(Severity s);  // "error", "warning"

struct Issue {
    int line;
    std::string xref;  // of the record it is in
    Severity severity;
    std::string message;
};

// Text kept in the plan's pool (a million persons' names in one buffer).
struct Text {
    std::uint32_t offset = 0, length = 0;
    bool present = false;  // false: null
};

// A relationship's start or end.
struct Instant {
    std::optional<Day> day;  // none: unknown (a start then is -infinity)
    std::int64_t micros = 0;  // into the day, UTC, from GEDCOM 7's TIME
    bool operator<(const Instant& o) const;  // unknown first
};

struct NewPerson {
    Text xref, first_name, last_name, sex, birth_date, birth_place, death_date, death_place;
    int father = -1, mother = -1;  // earlier persons of the plan; -1: none
    int father_rank = 0, mother_rank = 0;
    int layer = 0;  // 0 without parents, else one more than the parents' largest
    int line = 0;   // of its INDI
};

struct NewRelationship {
    int a = -1, b = -1;  // persons of the plan
    Instant started;
    std::optional<Instant> ended;  // none: current
    int layer = 0;  // the partners' larger: it can be written with them
};

struct Plan {
    Header header;
    std::vector<NewPerson> persons;              // by layer, then as in the file
    std::vector<NewRelationship> relationships;  // by layer, then as in the file
    std::vector<Issue> issues;                   // by line
    int individuals = 0;          // INDI records
    int skipped_individuals = 0;  // of them (the others are `persons`)
    int links = 0;                // CHIL/FAMC links
    int parent_links = 0;         // of them imported
    int skipped_links = 0;        // and not
    std::string pool;

    std::optional<std::string_view> text(Text t) const {
        if (!t.present) return std::nullopt;
        return std::string_view(pool).substr(t.offset, t.length);
    }
};

// Reads the file; throws NotGedcom as the Reader does. `default_rank` (1..5)
// is every link's rank that the file does not give. `tick`, when given, is
// called every few thousand records and steps, and may throw to stop (the
// extension checks there whether the statement was cancelled).
Plan plan_import(std::string_view file, int default_rank,
                 const std::function<void()>& tick = {});

// GEDCOM 7's time of day, "hh:mm[:ss[.fraction]][Z]", in microseconds;
// nullopt when it is not one.
std::optional<std::int64_t> time_of_day(std::string_view text);

}  // namespace family::gedcom
