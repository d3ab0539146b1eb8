// GEDCOM's records: the header, then each INDI and FAM with what `family`
// keeps of them (SPEC 5b), one record at a time. Everything else (sources,
// notes, media, submitters, extension records and tags) is read past. Pure
// C++: no PostgreSQL header.
//
// A record is held only while it is read: memory grows with the largest
// record, not with the file. CONC and CONT lines are joined to the line they
// continue. What the reader cannot take as written (a second NAME, a value
// in bytes that are not text, a pointer where text belongs) is kept as a
// note for the import's issues, with its line.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "gedcom_lines.hpp"

namespace family::gedcom {

struct Note {
    int line;
    std::string xref;  // the record's
    std::string message;
};

struct Header {
    std::string version;  // GEDC.VERS as written ("5.5.1", "7.0"); empty when none
    Charset charset = Charset::Utf8;
    std::string source;  // SOUR: the program that wrote the file
};

// A value and the line it was on (0: absent).
struct Field {
    std::string value;
    int line = 0;
    explicit operator bool() const { return line != 0; }
};

struct Event {
    Field date, place;
    Field time;  // GEDCOM 7's DATE.TIME ("10:43:12.5Z"), which export_gedcom writes
};

// A child's link to a family (INDI.FAMC).
struct ChildOf {
    std::string family;  // the FAM's xref
    int line = 0;
    std::string pedigree;  // PEDI, upper case: BIRTH, ADOPTED, ...; empty when none
    Field father_rank, mother_rank;  // the extension tags export_gedcom writes
};

struct Individual {
    std::string xref;
    int line = 0;
    std::string given, surname;  // of the first NAME
    int name_line = 0;
    Field sex;
    Event birth, death;
    std::vector<ChildOf> child_of;
};

struct Pointer {
    std::string xref;
    int line = 0;
};

struct Family {
    std::string xref;
    int line = 0;
    Pointer husband, wife;  // the first of each
    std::vector<Pointer> children;
    Event marriage, divorce;
    bool divorced = false;  // a DIV, with or without a date
    // The extension tags export_gedcom writes on a FAM: its relationship
    // has not ended, whatever the partners' deaths and other relationships
    // (_CURRENT); it has no relationship of its own, its partners' being
    // another FAM's (_PARENTS_ONLY).
    bool current = false, parents_only = false;
};

using Record = std::variant<Individual, Family>;

// The extension tags of `family` (documented in HEAD.SCHMA by the export).
inline constexpr const char* kFatherRankTag = "_FATHER_RANK";
inline constexpr const char* kMotherRankTag = "_MOTHER_RANK";
inline constexpr const char* kCurrentTag = "_CURRENT";
inline constexpr const char* kParentsOnlyTag = "_PARENTS_ONLY";

class Reader {
  public:
    // Reads the header; throws NotGedcom when the file is not GEDCOM.
    explicit Reader(std::string_view file);
    const Header& header() const { return header_; }
    // The next INDI or FAM; false after TRLR. Throws NotGedcom on a broken
    // line, or on a file that ends without TRLR (cut short: nothing of it is
    // taken).
    bool next(Record& record);
    // The notes since the last call.
    std::vector<Note> take_notes();

  private:
    struct Node {
        int level, line;
        std::string xref, tag, value;
        bool replaced;  // see Line::replaced
    };
    void read_record();  // into nodes_ (TRLR is a record too)
    void remember_last();
    void read_header();
    Individual individual() const;
    Family family() const;
    std::string text(const Node& n) const;  // a value as text, @@ unescaped
    Pointer pointer(const Node& n) const;   // an @ID@ value; empty xref if none
    Field field(const Node& n) const;
    Event event(std::size_t at) const;
    // The nodes one level below nodes_[at], in order.
    std::vector<std::size_t> below(std::size_t at) const;
    void note(const Node& n, const std::string& message) const;

    Lines lines_;
    Header header_;
    std::vector<Node> nodes_;  // the current record, in file order
    std::vector<int> last_at_;  // per level, the last node kept there (-1: none)
    std::optional<Node> pending_;  // the first line of the next record
    bool seven_ = false;       // GEDCOM 7: only a leading @@ is an escape
    mutable std::vector<Note> notes_;
};

}  // namespace family::gedcom
