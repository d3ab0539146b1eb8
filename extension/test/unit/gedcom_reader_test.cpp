// The GEDCOM reader: charsets, the line grammar, and what it keeps of INDI
// and FAM records.
#include <boost/test/unit_test.hpp>

#include "gedcom_reader.hpp"

using namespace family::gedcom;

namespace family::gedcom {
std::ostream& operator<<(std::ostream& out, Charset c) {
    return out << charset_name(c);
}
}  // namespace family::gedcom

namespace {

const std::string kHead = "0 HEAD\n1 GEDC\n2 VERS 5.5.1\n1 CHAR UTF-8\n";

// The lines of `file` as "number level [xref] tag|value" strings.
std::vector<std::string> lines_of(std::string_view file) {
    Lines lines(file);
    std::vector<std::string> out;
    Line l;
    while (lines.next(l))
        out.push_back(std::to_string(l.number) + " " + std::to_string(l.level) + " " +
                      (l.xref.empty() ? "" : "@" + std::string(l.xref) + "@ ") +
                      std::string(l.tag) + "|" + std::string(l.value) + (l.replaced ? " !" : ""));
    return out;
}

// The message NotGedcom gives for `file`, or "" when it reads.
std::string refused(std::string_view file) {
    try {
        Reader r(file);
        Record rec;
        while (r.next(rec)) {
        }
    } catch (const NotGedcom& e) {
        return e.what();
    }
    return "";
}

struct Read {
    Header header;
    std::vector<Individual> persons;
    std::vector<Family> families;
    std::vector<Note> notes;
};

Read read(std::string_view file) {
    Reader r(file);
    Read out;
    out.header = r.header();
    Record rec;
    while (r.next(rec)) {
        if (auto* p = std::get_if<Individual>(&rec)) out.persons.push_back(*p);
        if (auto* f = std::get_if<Family>(&rec)) out.families.push_back(*f);
    }
    out.notes = r.take_notes();
    return out;
}

std::string utf16(std::u16string_view s, bool little, bool bom) {
    std::string out;
    auto put = [&](char16_t u) {
        char a = static_cast<char>(u & 0xFF), b = static_cast<char>(u >> 8);
        out += little ? a : b;
        out += little ? b : a;
    };
    if (bom) put(0xFEFF);
    for (char16_t u : s) put(u);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gedcom_lines_end_with_any_terminator) {
    // LF, CR LF, CR, LF CR; blank lines count; leading blanks are read past.
    auto got = lines_of("0 HEAD\n1 CHAR UTF-8\r\n\r\n  1 SOUR x y \r0 TRLR\n\r0 @I1@ INDI");
    std::vector<std::string> want{"1 0 HEAD|", "2 1 CHAR|UTF-8", "4 1 SOUR|x y ", "5 0 TRLR|",
                                  "6 0 @I1@ INDI|"};
    BOOST_TEST(got == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gedcom_charsets_by_bom_and_head) {
    BOOST_TEST(lines_of("\xEF\xBB\xBF" "0 HEAD\n1 NOTE Zo\xC3\xAB\n").back() == "2 1 NOTE|Zo\xC3\xAB");
    for (bool little : {true, false})
        for (bool bom : {true, false}) {
            std::string file = utf16(u"0 HEAD\r\n1 CHAR UNICODE\r\n1 NOTE Zo\u00EB \U0001F600", little, bom);
            Lines lines(file);
            BOOST_TEST(lines.charset() == (little ? Charset::Utf16Le : Charset::Utf16Be));
            BOOST_TEST(lines_of(file).back() == "3 1 NOTE|Zo\xC3\xAB \xF0\x9F\x98\x80");
        }
    // A lone half of a pair, and a file cut in the middle of a unit.
    std::string broken = utf16(u"0 HEAD\n1 NOTE a\xD800z", true, true) + "x";
    BOOST_TEST(lines_of(broken).back() == "2 1 NOTE|a\xEF\xBF\xBDz\xEF\xBF\xBD !");

    // ANSEL: marks before their letter become marks after it.
    std::string ansel = "0 HEAD\n1 CHAR ANSEL\n1 NOTE Ren\xE2" "e \xA1\xF0" "c\x80\n";
    BOOST_TEST(Lines(ansel).charset() == Charset::Ansel);
    BOOST_TEST(lines_of(ansel).back() ==
               "3 1 NOTE|Rene\xCC\x81 \xC5\x81" "c\xCC\xA7\xEF\xBF\xBD !");
    BOOST_TEST(lines_of("0 HEAD\n1 CHAR ANSEL\n1 NOTE e\xE2\n").back() == "3 1 NOTE|e\xCC\x81");
    // ASCII takes no byte past 0x7F; ANSI is Windows-1252.
    BOOST_TEST(lines_of("0 HEAD\n1 CHAR ASCII\n1 NOTE \xE9\n").back() == "3 1 NOTE|\xEF\xBF\xBD !");
    BOOST_TEST(lines_of("0 HEAD\n1 CHAR ANSI\n1 NOTE \x80\xE9\x81\n").back() ==
               "3 1 NOTE|\xE2\x82\xAC\xC3\xA9\xEF\xBF\xBD !");
    // UTF-8: broken sequences, overlong forms, surrogates and NUL are replaced;
    // a U+FFFD in the file is text.
    BOOST_TEST(lines_of(kHead + "1 NOTE \xC3(\xC0\xAF\xED\xA0\x80" + std::string(1, '\0') +
                        "\xEF\xBF\xBD\xF4\x90\x80\x80\xE2\x82\n")
                   .back() == "5 1 NOTE|\xEF\xBF\xBD(" + [] {
                       std::string r;  // one for each byte that is not text, and the one in the file
                       for (int i = 0; i < 13; ++i) r += "\xEF\xBF\xBD";
                       return r;
                   }() + " !");
    // GEDCOM 7 is UTF-8 whatever CHAR says; no CHAR reads as UTF-8.
    BOOST_TEST(Lines("0 HEAD\n1 GEDC\n2 VERS 7.0\n1 CHAR ANSEL\n").charset() == Charset::Utf8);
    BOOST_TEST(Lines("0 HEAD\n1 SOUR x\n0 @I1@ INDI\n1 CHAR ANSEL\n").charset() == Charset::Utf8);
    for (auto [name, charset] : {std::pair{"utf8", Charset::Utf8}, {"US-ASCII", Charset::Ascii},
                                 {"windows-1252", Charset::Ansi}, {"Latin1", Charset::Ansi},
                                 {"cp1252", Charset::Ansi}, {"ISO-8859-1", Charset::Ansi},
                                 {"unicode", Charset::Utf8}})
        BOOST_TEST(Lines("0 HEAD\n1 CHAR " + std::string(name) + "\n").charset() == charset, name);
    // HEAD.CHAR is found after blank lines before HEAD, too.
    BOOST_TEST(Lines("\n\r\n0 HEAD\n1 CHAR ANSEL\n0 @I1@ INDI\n").charset() == Charset::Ansel);
    std::string names;
    for (Charset c : {Charset::Utf8, Charset::Utf16Le, Charset::Utf16Be, Charset::Ansel,
                      Charset::Ascii, Charset::Ansi})
        names += std::string(charset_name(c)) + " ";
    BOOST_TEST(names == "UTF-8 UTF-16LE UTF-16BE ANSEL ASCII ANSI ");
}

BOOST_AUTO_TEST_CASE(gedcom_files_that_are_not_gedcom) {
    BOOST_TEST(refused("0 HEAD\n1 CHAR IBMPC\n0 TRLR\n") ==
               "line 2: the charset \"IBMPC\" is not one this reader knows (UTF-8, UNICODE, ANSEL, "
               "ASCII, ANSI)");
    // Read before the charset is known: bytes past ASCII show as '?'.
    BOOST_TEST(refused("0 HEAD\n1 CHAR x\xA5\x01\n0 TRLR\n") ==
               "line 2: the charset \"X??\" is not one this reader knows (UTF-8, UNICODE, ANSEL, "
               "ASCII, ANSI)");
    BOOST_TEST(refused("") == "line 1: the file has no line: not GEDCOM");
    BOOST_TEST(refused("\n\n") == "line 2: the file has no line: not GEDCOM");
    BOOST_TEST(refused("<html>\n") == "line 1: a line begins with its level, a number: \"<html>\"");
    BOOST_TEST(refused("0 HEADER\n") == "line 1: a GEDCOM file begins with \"0 HEAD\", not \"0 HEADER\"");
    BOOST_TEST(refused("1 HEAD\n") == "line 1: a GEDCOM file begins with \"0 HEAD\", not \"1 HEAD\"");
    BOOST_TEST(refused("0 HEAD\n2 VERS 5.5\n") ==
               "line 2: level 2 after level 0: a level is at most one more than the line's before");
    BOOST_TEST(refused("0 HEAD\n100 X\n") == "line 2: level \"100\" is too deep");
    BOOST_TEST(refused("0 HEAD\n1\n") == "line 2: a space follows the level: \"1\"");
    BOOST_TEST(refused("0 HEAD\n1 @X SOUR\n") ==
               "line 2: a cross-reference id is @ID@ followed by a tag: \"1 @X SOUR\"");
    BOOST_TEST(refused("0 HEAD\n1 @" + std::string(256, 'x') + "@ INDI\n") ==
               "line 2: a cross-reference id of 256 bytes (GEDCOM allows 20): \"1 @" +
                   std::string(37, 'x') + "...\"");
    BOOST_TEST(refused("0 HEAD\n0 @" + std::string(255, 'x') + "@ INDI\n0 TRLR\n").empty());
    BOOST_TEST(refused("0 HEAD\n1 @X@\n") ==
               "line 2: a cross-reference id is @ID@ followed by a tag: \"1 @X@\"");
    BOOST_TEST(refused("0 HEAD\n1 SO-UR x\n") ==
               "line 2: a line has a tag (letters, digits, _) after its level: \"1 SO-UR x\"");
    BOOST_TEST(refused("0 HEAD\n1 " + std::string(60, 'x') + "-\n") ==
               "line 2: a line has a tag (letters, digits, _) after its level: \"1 " +
                   std::string(38, 'x') + "...\"");
    // Cut short: nothing of it is taken.
    BOOST_TEST(refused(kHead + "0 @I1@ INDI\n1 NAME A /B/\n") ==
               "line 6: the file ends without \"0 TRLR\": it was cut short, and nothing of it is "
               "imported");
    BOOST_TEST(refused(kHead) ==
               "line 4: the file ends without \"0 TRLR\": it was cut short, and nothing of it is "
               "imported");
}

BOOST_AUTO_TEST_CASE(gedcom_header_version_and_trailer) {
    Read r = read("0 HEAD\n1 SOUR GRAMPS\n1 GEDC\n2 VERS 5.5.1\n1 CHAR UTF-8\n0 TRLR\n");
    BOOST_TEST(r.header.version == "5.5.1");
    BOOST_TEST(r.header.source == "GRAMPS");
    BOOST_TEST(r.notes.empty());
    r = read("0 HEAD\n0 TRLR\n0 @I1@ INDI\n");
    BOOST_TEST(r.persons.empty());
    BOOST_TEST_REQUIRE(r.notes.size() == 2u);
    BOOST_TEST(r.notes[0].message == "the header has no GEDC.VERS: read as GEDCOM 5.5.1");
    BOOST_TEST(r.notes[1].line == 2);
    BOOST_TEST(r.notes[1].message == "the lines after \"0 TRLR\" are not read");
    r = read("0 HEAD\n1 GEDC\n2 VERS 4.0\n0 TRLR\n<garbage>\n");
    BOOST_TEST(r.notes[0].message == "GEDCOM 4.0 is not a version this reader knows: read as 5.5.1");
    BOOST_TEST(r.notes[1].message == "the lines after \"0 TRLR\" are not read");
    BOOST_TEST(read("0 HEAD\n1 GEDC\n2 VERS 7.0.14\n0 TRLR\n").notes.empty());
}

BOOST_AUTO_TEST_CASE(gedcom_individuals) {
    Read r = read(kHead +
                  "0 @I1@ INDI\n"
                  "1 NAME  John  Henry /Smith/ Jr.\n"
                  "1 NAME Johnny /Smith/\n"
                  "1 SEX m\n"
                  "1 BIRT\n2 DATE 12 MAR 1850\n2 PLAC Bath, Somerset\n"
                  "1 BIRT\n2 DATE 1851\n"
                  "1 DEAT Y\n2 PLAC @@home\n"
                  "1 FAMC @F1@\n2 PEDI birth\n2 _FATHER_RANK 4\n2 _MOTHER_RANK 9\n"
                  "1 FAMC @F2@\n2 PEDI adopted\n"
                  "1 FAMC F3\n"
                  "1 FAMC @VOID@\n"
                  "1 _CUSTOM x\n2 NAME not this\n"
                  "0 @S1@ SOUR\n1 TITL not a person\n"
                  "0 @I2@ INDI\n1 NAME\n2 GIVN Anne\n2 SURN King\n"
                  "0 @I3@ INDI\n1 NAME Plato\n"
                  "0 @I4@ INDI\n1 NAME /Ng\n"
                  "0 TRLR\n");
    BOOST_TEST_REQUIRE(r.persons.size() == 4u);
    const Individual& p = r.persons[0];
    BOOST_TEST(p.xref == "I1");
    BOOST_TEST(p.line == 5);
    BOOST_TEST(p.given == "John Henry");
    BOOST_TEST(p.surname == "Smith Jr.");
    BOOST_TEST(p.sex.value == "M");
    BOOST_TEST(p.sex.line == 8);
    BOOST_TEST(p.birth.date.value == "12 MAR 1850");
    BOOST_TEST(p.birth.date.line == 10);
    BOOST_TEST(p.birth.place.value == "Bath, Somerset");
    BOOST_TEST(!p.death.date);
    BOOST_TEST(p.death.place.value == "@home");
    BOOST_TEST_REQUIRE(p.child_of.size() == 2u);
    BOOST_TEST(p.child_of[0].family == "F1");
    BOOST_TEST(p.child_of[0].pedigree == "BIRTH");
    BOOST_TEST(p.child_of[0].father_rank.value == "4");
    BOOST_TEST(p.child_of[0].mother_rank.value == "9");
    BOOST_TEST(p.child_of[0].mother_rank.line == 19);
    BOOST_TEST(p.child_of[1].pedigree == "ADOPTED");
    BOOST_TEST(!p.child_of[1].father_rank);
    BOOST_TEST_REQUIRE(r.notes.size() == 1u);
    BOOST_TEST(r.notes[0].line == 22);
    BOOST_TEST(r.notes[0].xref == "I1");
    BOOST_TEST(r.notes[0].message == "FAMC points to nothing: \"@ID@\" expected, not \"F3\"");
    BOOST_TEST(r.persons[1].given == "Anne");
    BOOST_TEST(r.persons[1].surname == "King");
    BOOST_TEST(r.persons[2].given == "Plato");
    BOOST_TEST(r.persons[2].surname == "");
    BOOST_TEST(r.persons[3].given == "");
    BOOST_TEST(r.persons[3].surname == "Ng");
}

BOOST_AUTO_TEST_CASE(gedcom_families) {
    Read r = read(kHead +
                  "0 @F1@ FAM\n"
                  "1 HUSB @I1@\n1 WIFE @I2@\n1 WIFE @I9@\n1 HUSB I7\n"
                  "1 CHIL @I3@\n1 CHIL @I4@\n1 CHIL @VOID@\n"
                  "1 MARR\n2 DATE ABT 1870\n3 TIME 10:00Z\n3 TIME 11:00Z\n2 PLAC Leeds\n1 MARR\n2 DATE 1880\n"
                  "1 DIV Y\n"
                  "0 @F2@ FAM\n1 WIFE @I5@\n"
                  "0 TRLR\n");
    BOOST_TEST_REQUIRE(r.families.size() == 2u);
    const Family& f = r.families[0];
    BOOST_TEST(f.husband.xref == "I1");
    BOOST_TEST(f.wife.xref == "I2");
    BOOST_TEST(f.wife.line == 7);
    BOOST_TEST_REQUIRE(f.children.size() == 2u);
    BOOST_TEST(f.children[1].xref == "I4");
    BOOST_TEST(f.children[1].line == 11);
    BOOST_TEST(f.marriage.date.value == "ABT 1870");
    BOOST_TEST(f.marriage.time.value == "10:00Z");
    BOOST_TEST(f.divorced);
    BOOST_TEST(!f.divorce.date);
    BOOST_TEST(r.families[1].husband.xref.empty());
    BOOST_TEST(!r.families[1].divorced);
    BOOST_TEST_REQUIRE(r.notes.size() == 2u);
    BOOST_TEST(r.notes[0].message == "a family has one WIFE: this one (@I9@) is not read");
    BOOST_TEST(r.notes[0].line == 8);
    BOOST_TEST(r.notes[1].message == "HUSB points to nothing: \"@ID@\" expected, not \"I7\"");
    // A long value is cut between characters, not inside one.
    r = read(kHead + "0 @F1@ FAM\n1 CHIL " + std::string(39, 'x') + "\xC3\xA9\n0 TRLR\n");
    BOOST_TEST(r.notes[0].message ==
               "CHIL points to nothing: \"@ID@\" expected, not \"" + std::string(39, 'x') + "...\"");
}

BOOST_AUTO_TEST_CASE(gedcom_continued_and_escaped_values) {
    Read r = read(kHead +
                  "0 @I1@ INDI\n1 NAME Mary Ann@@\n2 CONC e /Lee/\n"
                  "1 BIRT\n2 PLAC St\n3 CONT Ives\n4 CONT x\n"
                  "0 TRLR\n");
    BOOST_TEST(r.persons[0].given == "Mary Ann@e");
    BOOST_TEST(r.persons[0].surname == "Lee");
    BOOST_TEST(r.persons[0].birth.place.value == "St\nIves");
    BOOST_TEST_REQUIRE(r.notes.size() == 1u);
    BOOST_TEST(r.notes[0].message == "CONT continues no line: not read");
    BOOST_TEST(r.notes[0].line == 11);
    // GEDCOM 7 unescapes a leading @@ only.
    r = read("0 HEAD\n1 GEDC\n2 VERS 7.0\n0 @I1@ INDI\n1 NAME @@a@@b\n0 TRLR\n");
    BOOST_TEST(r.persons[0].given == "@a@@b");
    // Bytes that are not text are noted where they are used.
    r = read("0 HEAD\n1 GEDC\n2 VERS 5.5\n1 CHAR ASCII\n0 @I1@ INDI\n1 NAME Ren\xE9\n1 NOTE \xE9\n"
             "0 TRLR\n");
    BOOST_TEST_REQUIRE(r.notes.size() == 1u);
    BOOST_TEST(r.notes[0].line == 6);
    BOOST_TEST(r.notes[0].message == "bytes that are not ASCII text were read as U+FFFD");
}
