// GEDCOM 7.0 of persons and relationships, as export_gedcom writes it
// (SPEC 5b). Pure C++: no PostgreSQL header.
//
// An INDI per person (@I<id>@): NAME, SEX, BIRT and DEAT with DATE (in
// GEDCOM 7's spelling, the date as written in PHRASE when that differs) and
// PLAC, FAMC with the parents' ranks, FAMS. A FAM per relationship (HUSB,
// WIFE, MARR and DIV with DATE and TIME, in UTC); the children of a couple
// in the first of its relationships whose HUSB is their father and WIFE
// their mother; a FAM per single parent with their children. The extension
// tags, documented in HEAD.SCHMA:
//   INDI.FAMC._FATHER_RANK, _MOTHER_RANK   the child's rank with each parent
//   FAM._CURRENT        the relationship has not ended (a reader would
//                       otherwise end it at a partner's death)
//   FAM._PARENTS_ONLY   a couple's children whose father and mother are the
//                       other way round than in the couple's only FAM: no
//                       relationship of its own
// import_gedcom reads all of them back: importing the export gives the same
// persons, links, ranks and relationships.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gedcom_date.hpp"

namespace family::gedcom {

// A relationship's start or end, in UTC.
struct Moment {
    enum class Kind { Finite, MinusInfinity, PlusInfinity };
    Kind kind = Kind::Finite;
    Day day{0, 1, 1};
    std::int64_t micros = 0;  // into the day
};

struct PersonRow {
    std::int64_t id = 0;
    std::string_view first_name, last_name;
    std::optional<std::string_view> sex, birth_date, birth_place, death_date, death_place;
    std::int64_t father = 0, mother = 0;  // 0: none
    int father_rank = 0, mother_rank = 0;
    bool withhold = false;  // sex and birth left out (privacy of the living)
};

struct RelationshipRow {
    std::int64_t a = 0, b = 0;
    Moment started;
    std::optional<Moment> ended;  // none: current
};

class Writer {
  public:
    // Persons in ascending id order; a parent or partner who is not among
    // them is left out (an export of part of a family).
    void person(const PersonRow& p);
    void relationship(const RelationshipRow& r);
    // The file, a piece at a time: `sink` gets each (about 1 MiB of whole
    // records) in order. `version` goes to HEAD.SOUR.VERS. `tick`, when
    // given, is called every few thousand persons and may throw to stop.
    void write(std::string_view version, const std::function<void(std::string_view)>& sink,
               void (*tick)() = nullptr);
    // The file whole.
    std::string write(std::string_view version, void (*tick)() = nullptr);

  private:
    struct Stored {
        std::int64_t id, father, mother;
        std::size_t text;  // offset in pool_ of its texts, each four bytes of length then the bytes
        std::uint8_t father_rank, mother_rank, present;  // present: bit per optional text
        bool withhold;
    };
    struct Couple {
        std::int64_t a, b;
        Moment started;
        std::optional<Moment> ended;
        std::size_t order;
    };
    std::vector<Stored> persons_;
    std::vector<Couple> couples_;
    std::string pool_;
};

// A DATE line's payload for a day ("12 MAR 1850", "1 JAN 44 BCE"); empty
// when GEDCOM's years (at most four digits, from 4712 B.C.) cannot hold it.
std::string day_text(const Day& d);

// GEDCOM 7's TIME for microseconds into a day: "10:43:12Z", "10:43:12.5Z".
std::string time_text(std::int64_t micros);

}  // namespace family::gedcom
