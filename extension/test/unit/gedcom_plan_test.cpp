// What an import makes of a file: persons parents first, links, ranks,
// relationships and their times, and every skip with its line.
#include <boost/test/unit_test.hpp>

#include <map>

#include "gedcom_plan.hpp"

using namespace family::gedcom;

namespace {

const std::string kHead = "0 HEAD\n1 GEDC\n2 VERS 5.5.1\n1 CHAR UTF-8\n";

std::string ged(const std::string& body) {
    return kHead + body + "0 TRLR\n";
}

struct Look {
    Plan plan;
    std::map<std::string, int> index;  // xref -> person

    explicit Look(const std::string& body, int default_rank = 3)
        : plan(plan_import(ged(body), default_rank)) {
        for (std::size_t i = 0; i < plan.persons.size(); ++i)
            index[std::string(*plan.text(plan.persons[i].xref))] = static_cast<int>(i);
    }
    const NewPerson& operator[](const std::string& xref) const { return plan.persons.at(index.at(xref)); }
    std::string xref(int person) const {
        return person < 0 ? "-" : std::string(*plan.text(plan.persons[person].xref));
    }
    // "father/rank mother/rank" of a person.
    std::string parents(const std::string& x) const {
        const NewPerson& p = (*this)[x];
        return xref(p.father) + "/" + std::to_string(p.father_rank) + " " + xref(p.mother) + "/" +
               std::to_string(p.mother_rank);
    }
    std::string text(Text t) const {
        std::optional<std::string_view> v = plan.text(t);
        return v ? std::string(*v) : "null";
    }
    // Every issue as "line severity message".
    std::vector<std::string> issues() const {
        std::vector<std::string> out;
        for (const Issue& i : plan.issues)
            out.push_back(std::to_string(i.line) + " " + severity_name(i.severity) + " " + i.message);
        return out;
    }
    int skipped() const {
        int n = 0;
        for (const Issue& i : plan.issues) n += i.severity == Severity::Skipped;
        return n;
    }
};

std::string day(const Instant& i) {
    if (!i.day) return "unknown";
    return std::to_string(i.day->year) + "-" + std::to_string(i.day->month) + "-" +
           std::to_string(i.day->day) + (i.micros ? "+" + std::to_string(i.micros) : "");
}

}  // namespace

BOOST_AUTO_TEST_CASE(gedcom_plan_a_family) {
    // The child comes first in the file; it is written after its parents.
    Look l("0 @I3@ INDI\n1 NAME Ann /Lee/\n1 SEX F\n1 FAMC @F1@\n2 _FATHER_RANK 4\n2 _MOTHER_RANK 5\n"
           "0 @I1@ INDI\n1 NAME John /Lee/\n1 BIRT\n2 DATE 1840\n2 PLAC York\n"
           "0 @I2@ INDI\n1 NAME Mary /Bell/\n"
           "0 @I4@ INDI\n1 NAME Tom /Lee/\n"
           "0 @F1@ FAM\n1 HUSB @I1@\n1 WIFE @I2@\n1 CHIL @I3@\n1 CHIL @I4@\n1 MARR\n2 DATE 12 MAR 1870\n",
           2);
    const Plan& p = l.plan;
    BOOST_TEST(l.issues().empty());
    BOOST_TEST(p.individuals == 4);
    BOOST_TEST(p.links == 2);
    BOOST_TEST(p.parent_links == 2);
    BOOST_TEST_REQUIRE(p.persons.size() == 4u);
    BOOST_TEST(l.xref(0) == "I1");
    BOOST_TEST(l.xref(1) == "I2");
    BOOST_TEST(l.xref(2) == "I3");
    BOOST_TEST(l.xref(3) == "I4");
    BOOST_TEST(l.parents("I3") == "I1/4 I2/5");
    BOOST_TEST(l.parents("I4") == "I1/2 I2/2");  // the default rank
    BOOST_TEST(l["I3"].layer == 1);
    BOOST_TEST(l.text(l["I3"].first_name) == "Ann");
    BOOST_TEST(l.text(l["I3"].last_name) == "Lee");
    BOOST_TEST(l.text(l["I3"].sex) == "F");
    BOOST_TEST(l.text(l["I1"].sex) == "null");
    BOOST_TEST(l.text(l["I1"].birth_date) == "1840");
    BOOST_TEST(l.text(l["I1"].birth_place) == "York");
    BOOST_TEST(l.text(l["I1"].death_place) == "null");
    BOOST_TEST_REQUIRE(p.relationships.size() == 1u);
    const NewRelationship& r = p.relationships[0];
    BOOST_TEST(l.xref(r.a) == "I1");
    BOOST_TEST(l.xref(r.b) == "I2");
    BOOST_TEST(day(r.started) == "1870-3-12");
    BOOST_TEST(!r.ended.has_value());
    BOOST_TEST(r.layer == 0);
}

BOOST_AUTO_TEST_CASE(gedcom_plan_single_parents_and_no_parents) {
    Look l("0 @I1@ INDI\n0 @I2@ INDI\n0 @I3@ INDI\n1 FAMC @F2@\n"
           "0 @F1@ FAM\n1 WIFE @I1@\n1 CHIL @I2@\n"
           "0 @F2@ FAM\n1 HUSB @I9@\n");
    BOOST_TEST(l.parents("I2") == "-/0 I1/3");
    BOOST_TEST(l.parents("I3") == "-/0 -/0");
    BOOST_TEST(l.plan.relationships.empty());
    BOOST_TEST(l.plan.parent_links == 1);
    BOOST_TEST(l.plan.links == 2);
    std::vector<std::string> want{
        "8 error @F2@ has no HUSB or WIFE of the file: @I3@ gets no parents from it",
        "13 warning HUSB @I9@ is no INDI of the file: the family is read without it"};
    BOOST_TEST(l.issues() == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gedcom_plan_what_is_skipped) {
    Look l("0 @I1@ INDI\n1 FAMC @F9@\n"                                    // 5, 6
           "0 @I1@ INDI\n1 NAME Twin\n"                                     // 7
           "0 @I2@ INDI\n1 FAMC @F2@\n2 PEDI adopted\n1 FAMC @F1@\n"        // 9
           "0 @I3@ INDI\n1 FAMC @F1@\n2 _FATHER_RANK 9\n"                   // 13
           "0 @I4@ INDI\n1 FAMC @F1@\n1 FAMC @F3@\n"                        // 16
           "0 @F1@ FAM\n1 HUSB @I1@\n1 CHIL @I7@\n1 CHIL @I1@\n"             // 19
           "0 @F2@ FAM\n1 WIFE @I4@\n"                                      // 23
           "0 @F3@ FAM\n1 WIFE @I1@\n"                                      // 25
           "0 @F1@ FAM\n1 CHIL @I4@\n");                                    // 27
    std::vector<std::string> want{
        "6 error FAMC @F9@ is no FAM of the file: the link is not imported",
        "7 error a second INDI @I1@ (the first is at line 5): not imported",
        "10 error a second family of @I2@, @F2@ (ADOPTED): a person has one father and one mother "
        "here, from @F1@; not imported",
        "15 error _FATHER_RANK \"9\" is not a rank from 1 to 5: the link to @F1@ is not imported",
        "18 error a second family of @I4@, @F3@: a person has one father and one mother here, from "
        "@F1@; not imported",
        "21 error CHIL @I7@ is no INDI of the file: the link is not imported",
        "22 error @I1@ would be their own parent in @F1@: the link is not imported",
        "27 error a second FAM @F1@ (the first is at line 19): not imported"};
    BOOST_TEST(l.issues() == want, boost::test_tools::per_element());
    BOOST_TEST(l.parents("I2") == "I1/3 -/0");
    BOOST_TEST(l.parents("I4") == "I1/3 -/0");
    BOOST_TEST(l.parents("I3") == "-/0 -/0");
    // Everything is accounted for.
    const Plan& p = l.plan;
    BOOST_TEST(p.individuals == 5);
    BOOST_TEST(p.persons.size() == 4u);
    // (I4's link to @F1@ written again in the second @F1@ counts once.)
    BOOST_TEST(p.links == 8);
    BOOST_TEST(p.parent_links == 2);
    BOOST_TEST(p.skipped_individuals == 1);
    BOOST_TEST(p.skipped_links == 6);
    BOOST_TEST(static_cast<int>(p.persons.size()) + p.skipped_individuals == p.individuals);
    BOOST_TEST(p.parent_links + p.skipped_links == p.links);
    // One issue for each, and one for the second FAM record.
    BOOST_TEST(l.skipped() == p.skipped_individuals + p.skipped_links + 1);
}

BOOST_AUTO_TEST_CASE(gedcom_plan_links_of_second_records) {
    // @C@ twice (FAMC @F1@, then FAMC @F2@), @F1@ twice (CHIL @C@ both
    // times): the pair (C, F1) is one link, made; (C, F2) is written only in
    // the second @C@: counted and skipped; a dangling pair written twice
    // counts once.
    Look l("0 @P@ INDI\n0 @C@ INDI\n1 FAMC @F1@\n1 FAMC @F9@\n1 FAMC @F9@\n"
           "0 @C@ INDI\n1 FAMC @F2@\n"
           "0 @F1@ FAM\n1 HUSB @P@\n1 CHIL @C@\n"
           "0 @F1@ FAM\n1 CHIL @C@\n1 CHIL @Q@\n"
           "0 @F2@ FAM\n1 WIFE @P@\n");
    std::vector<std::string> want{
        "8 error FAMC @F9@ is no FAM of the file: the link is not imported",
        "10 error a second INDI @C@ (the first is at line 6): not imported",
        "11 error the link of a second INDI @C@ to @F2@: not imported",
        "15 error a second FAM @F1@ (the first is at line 12): not imported",
        "17 error the link of @Q@ to a second FAM @F1@: not imported"};
    BOOST_TEST(l.issues() == want, boost::test_tools::per_element());
    const Plan& p = l.plan;
    BOOST_TEST(p.links == 4);  // (C,F1) (C,F9) (C,F2) (Q,F1)
    BOOST_TEST(p.parent_links == 1);
    BOOST_TEST(p.skipped_links == 3);
    BOOST_TEST(l.parents("C") == "P/3 -/0");
}

BOOST_AUTO_TEST_CASE(gedcom_plan_loops_are_broken) {
    // I1 -> I2 -> I3 -> I1 (each the child of the next), and I4 below I1.
    Look l("0 @I1@ INDI\n1 FAMC @F2@\n"
           "0 @I2@ INDI\n1 FAMC @F3@\n"
           "0 @I3@ INDI\n1 FAMC @F1@\n"
           "0 @I4@ INDI\n1 FAMC @F1@\n"
           "0 @F1@ FAM\n1 HUSB @I1@\n"
           "0 @F2@ FAM\n1 HUSB @I2@\n"
           "0 @F3@ FAM\n1 WIFE @I3@\n");
    std::vector<std::string> want{
        "10 error a loop: @I3@ would be their own ancestor (through @I1@, @I2@): the link to @F1@ is "
        "not imported"};
    BOOST_TEST(l.issues() == want, boost::test_tools::per_element());
    BOOST_TEST(l.parents("I1") == "I2/3 -/0");
    BOOST_TEST(l.parents("I2") == "-/0 I3/3");
    BOOST_TEST(l.parents("I3") == "-/0 -/0");
    BOOST_TEST(l.parents("I4") == "I1/3 -/0");
    BOOST_TEST(l["I3"].layer == 0);
    BOOST_TEST(l["I4"].layer == 3);
    BOOST_TEST(l.plan.parent_links == 3);
    // Parents always come first.
    for (std::size_t i = 0; i < l.plan.persons.size(); ++i)
        for (int parent : {l.plan.persons[i].father, l.plan.persons[i].mother})
            BOOST_TEST(parent < static_cast<int>(i));
}

BOOST_AUTO_TEST_CASE(gedcom_plan_a_deep_line) {
    // 100,000 generations, youngest first: no recursion to run out of stack.
    std::string body;
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
        body += "0 @I" + std::to_string(i) + "@ INDI\n";
        if (i + 1 < n) body += "1 FAMC @F" + std::to_string(i + 1) + "@\n";
        body += "0 @F" + std::to_string(i) + "@ FAM\n1 HUSB @I" + std::to_string(i) + "@\n";
    }
    Look l(body);
    BOOST_TEST(l.issues().empty());
    BOOST_TEST(l["I0"].layer == n - 1);
    BOOST_TEST(l.xref(0) == "I99999");
    BOOST_TEST(l.plan.parent_links == n - 1);
}

BOOST_AUTO_TEST_CASE(gedcom_plan_fields_that_break_rules) {
    Look l("0 @I1@ INDI\n1 NAME Ann\n2 CONT Marie /Lee/\n1 SEX Q\n"
           "1 BIRT\n2 DATE 31 FEB 1850\n2 PLAC " + std::string(201, 'p') + "\n"
           "1 DEAT\n2 DATE ABT 1900\n2 PLAC \xE2\x80\xAE" "evil\n"
           "0 @I2@ INDI\n1 NAME /" + std::string(201, 's') + "/\n1 SEX u\n");
    std::vector<std::string> want{
        "6 warning the given name \"Ann\nMarie\" holds U+000A, a control character: left out",
        "8 warning SEX \"Q\" is not M, F, X or U: left out",
        "10 warning the birth date \"31 FEB 1850\" is not a GEDCOM date (FEB 1850 has no day 31): left "
        "out",
        "11 warning the birth place \"" + std::string(40, 'p') +
            "...\" is 201 characters long, more than 200: left out",
        "14 warning the death place \"\xE2\x80\xAE" "evil\" holds U+202E, which reorders or breaks the "
        "text: left out",
        "16 warning the surname \"" + std::string(40, 's') +
            "...\" is 201 characters long, more than 200: left out"};
    BOOST_TEST(l.issues() == want, boost::test_tools::per_element());
    const NewPerson& p = l["I1"];
    BOOST_TEST(l.text(p.first_name) == "");
    BOOST_TEST(l.text(p.last_name) == "Lee");
    BOOST_TEST(l.text(p.sex) == "null");
    BOOST_TEST(l.text(p.birth_date) == "null");
    BOOST_TEST(l.text(p.birth_place) == "null");
    BOOST_TEST(l.text(p.death_date) == "ABT 1900");
    BOOST_TEST(l.text(p.death_place) == "null");
    BOOST_TEST(l.text(l["I2"].last_name) == "");
    BOOST_TEST(l.plan.persons.size() == 2u);
}

BOOST_AUTO_TEST_CASE(gedcom_plan_relationship_times) {
    Look l("0 @I1@ INDI\n0 @I2@ INDI\n0 @I3@ INDI\n0 @I4@ INDI\n1 DEAT\n2 DATE 5 MAY 1950\n"
           "0 @I5@ INDI\n0 @I6@ INDI\n0 @I7@ INDI\n0 @I8@ INDI\n"
           // I1 marries I2, then I3: the first ends when the second starts.
           "0 @F2@ FAM\n1 HUSB @I1@\n1 WIFE @I3@\n1 MARR\n2 DATE 1880\n"
           "0 @F1@ FAM\n1 HUSB @I1@\n1 WIFE @I2@\n1 MARR\n2 DATE 12 MAR 1870\n3 TIME 14:30:05.25Z\n"
           // I4 dies: their relationship ends then.
           "0 @F3@ FAM\n1 HUSB @I5@\n1 WIFE @I4@\n1 MARR\n2 DATE BEF 1920\n"
           // Divorced on a day, divorced on no day, divorced before married.
           "0 @F4@ FAM\n1 HUSB @I6@\n1 WIFE @I7@\n1 MARR\n2 DATE 1900\n1 DIV\n2 DATE 3 JUN 1910\n"
           "0 @F5@ FAM\n1 HUSB @I7@\n1 WIFE @I8@\n1 MARR\n2 DATE 1920\n1 DIV Y\n"
           "0 @F6@ FAM\n1 HUSB @I8@\n1 WIFE @I6@\n1 MARR\n2 DATE 1930\n3 TIME 25:00\n1 DIV\n2 DATE 1929\n"
           // Divorced, and nothing else known; a dual year and a range.
           "0 @I9@ INDI\n0 @I10@ INDI\n0 @I11@ INDI\n0 @I12@ INDI\n"
           "0 @F7@ FAM\n1 HUSB @I9@\n1 WIFE @I10@\n1 MARR\n2 DATE 1 JAN 1700/01\n1 DIV Y\n"
           "0 @F8@ FAM\n1 HUSB @I11@\n1 WIFE @I12@\n1 MARR\n2 DATE 1 JAN 1700/01\n1 DIV\n2 DATE BET 1702 AND 1720\n");
    std::vector<std::string> got;
    for (const NewRelationship& r : l.plan.relationships)
        got.push_back(l.xref(r.a) + "+" + l.xref(r.b) + " " + day(r.started) + " to " +
                      (r.ended ? day(*r.ended) : "now"));
    std::vector<std::string> want{"I1+I3 1880-1-1 to now",
                                  "I1+I2 1870-3-12+52205250000 to 1880-1-1",
                                  "I5+I4 unknown to 1950-5-5",
                                  "I6+I7 1900-1-1 to 1910-6-3",
                                  "I7+I8 1920-1-1 to 1930-1-1",  // divorced: when I8 remarries
                                  "I8+I6 1930-1-1 to 1930-1-1",
                                  "I9+I10 1701-1-1 to 1701-1-1",
                                  "I11+I12 1701-1-1 to 1702-1-1"};
    BOOST_TEST(got == want, boost::test_tools::per_element());
    std::vector<std::string> issues{
        "44 warning the relationship of @I8@ and @I6@ would end before it starts: it ends when it "
        "starts",
        "49 warning TIME \"25:00\" is not a time of day: left out"};
    BOOST_TEST(l.issues() == issues, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gedcom_plan_extension_tags_of_families) {
    // _CURRENT: current though a partner died and remarried after the start.
    // Two _CURRENT of one person: the later stays current. _PARENTS_ONLY
    // with the couple's own FAM: no second relationship; without one: it
    // makes them a couple after all.
    Look l("0 @I1@ INDI\n1 DEAT\n2 DATE 1950\n0 @I2@ INDI\n0 @I3@ INDI\n0 @I4@ INDI\n"  // 5-10
           "0 @F1@ FAM\n1 HUSB @I1@\n1 WIFE @I2@\n1 MARR\n2 DATE 1900\n1 _CURRENT\n"            // 11
           "0 @F2@ FAM\n1 HUSB @I1@\n1 WIFE @I3@\n1 MARR\n2 DATE 1890\n1 DIV\n2 DATE 1895\n"  // 17
           "0 @F3@ FAM\n1 HUSB @I2@\n1 WIFE @I1@\n1 CHIL @I4@\n1 _PARENTS_ONLY\n"               // 24
           "0 @I5@ INDI\n0 @I6@ INDI\n0 @I7@ INDI\n0 @I8@ INDI\n1 FAMC @F6@\n"                 // 29
           "0 @F4@ FAM\n1 HUSB @I5@\n1 WIFE @I6@\n1 MARR\n2 DATE 1900\n1 _CURRENT\n"            // 34
           "0 @F5@ FAM\n1 HUSB @I5@\n1 WIFE @I7@\n1 MARR\n2 DATE 1910\n1 _CURRENT\n"            // 40
           "0 @F6@ FAM\n1 HUSB @I6@\n1 WIFE @I7@\n1 CHIL @I8@\n1 _PARENTS_ONLY\n");             // 46
    std::vector<std::string> got;
    for (const NewRelationship& r : l.plan.relationships)
        got.push_back(l.xref(r.a) + "+" + l.xref(r.b) + " " + day(r.started) + " to " +
                      (r.ended ? day(*r.ended) : "now"));
    std::vector<std::string> want{"I1+I2 1900-1-1 to now", "I1+I3 1890-1-1 to 1895-1-1",
                                  "I5+I6 1900-1-1 to 1910-1-1", "I5+I7 1910-1-1 to now",
                                  "I6+I7 unknown to 1900-1-1"};
    BOOST_TEST(got == want, boost::test_tools::per_element());
    BOOST_TEST(l.parents("I4") == "I2/3 I1/3");
    BOOST_TEST(l.parents("I8") == "I6/3 I7/3");
    std::vector<std::string> issues{
        "34 warning @I5@ has a later current relationship: this one ends when it starts",
        "46 warning _PARENTS_ONLY, but no other family of @I6@ and @I7@ makes them a couple: this "
        "one does"};
    BOOST_TEST(l.issues() == issues, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(gedcom_plan_divorced_at_no_known_time) {
    // Divorced on no day, married on none: it ends when it starts (unknown),
    // not when a later relationship of a partner starts.
    Look l("0 @I1@ INDI\n0 @I2@ INDI\n0 @I3@ INDI\n"
           "0 @F1@ FAM\n1 HUSB @I1@\n1 WIFE @I2@\n1 DIV Y\n"
           "0 @F2@ FAM\n1 HUSB @I1@\n1 WIFE @I3@\n1 MARR\n2 DATE 1900\n");
    BOOST_TEST_REQUIRE(l.plan.relationships.size() == 2u);
    BOOST_TEST(day(l.plan.relationships[0].started) == "unknown");
    BOOST_TEST_REQUIRE(l.plan.relationships[0].ended.has_value());
    BOOST_TEST(day(*l.plan.relationships[0].ended) == "unknown");
    BOOST_TEST(!l.plan.relationships[1].ended.has_value());
}

BOOST_AUTO_TEST_CASE(gedcom_plan_dates_with_phrases) {
    // GEDCOM 7's DATE with PHRASE: the date as written, or its words.
    Look l("0 @I1@ INDI\n1 BIRT\n2 DATE JULIAN 1 JAN 1700\n3 PHRASE @@#DJULIAN@ 1 JAN 1700\n"
           "1 DEAT\n2 DATE 1850\n3 PHRASE about then\n"
           "0 @I2@ INDI\n1 BIRT\n2 DATE\n3 PHRASE the winter\n");
    BOOST_TEST(l.text(l["I1"].birth_date) == "@#DJULIAN@ 1 JAN 1700");
    BOOST_TEST(l.text(l["I1"].death_date) == "INT 1850 (about then)");
    BOOST_TEST(l.text(l["I2"].birth_date) == "(the winter)");
}

BOOST_AUTO_TEST_CASE(gedcom_plan_odd_partners) {
    Look l("0 @I1@ INDI\n0 @I2@ INDI\n1 FAMC @F1@\n"
           "0 @F1@ FAM\n1 HUSB @I1@\n1 WIFE @I1@\n1 MARR\n2 DATE 31 FEB 1900\n");
    std::vector<std::string> want{
        "10 warning HUSB and WIFE are the same person @I1@: read as HUSB alone"};
    BOOST_TEST(l.issues() == want, boost::test_tools::per_element());
    BOOST_TEST(l.parents("I2") == "I1/3 -/0");
    BOOST_TEST(l.plan.relationships.empty());
    // A bad MARR date: the start is unknown.
    Look m("0 @I1@ INDI\n0 @I2@ INDI\n0 @F1@ FAM\n1 HUSB @I1@\n1 WIFE @I2@\n1 MARR\n2 DATE 31 FEB 1900\n");
    BOOST_TEST(m.issues().front() ==
               "11 warning MARR date \"31 FEB 1900\" is not a GEDCOM date: taken as unknown");
    BOOST_TEST(day(m.plan.relationships[0].started) == "unknown");
}

BOOST_AUTO_TEST_CASE(gedcom_plan_can_be_stopped) {
    // The tick comes every 4096 records and steps, and what it throws stops
    // the plan (as a cancelled statement does in the extension).
    std::string body;
    for (int i = 0; i < 10000; ++i) body += "0 @I" + std::to_string(i) + "@ INDI\n";
    int ticks = 0;
    Plan whole = plan_import(ged(body), 3, [&] { ++ticks; });
    BOOST_TEST(whole.persons.size() == 10000u);
    BOOST_TEST(ticks == 4);  // 10,000 records and 10,000 steps of the ordering
    struct Stop {};
    int before_stop = 0;
    BOOST_CHECK_THROW(plan_import(ged(body), 3,
                                  [&] {
                                      if (++before_stop == 2) throw Stop{};
                                  }),
                      Stop);
    BOOST_TEST(before_stop == 2);
}

BOOST_AUTO_TEST_CASE(gedcom_times_of_day) {
    BOOST_TEST(*time_of_day("0:00") == 0);
    BOOST_TEST(*time_of_day("14:30") == 52200000000);
    BOOST_TEST(*time_of_day("14:30:05Z") == 52205000000);
    BOOST_TEST(*time_of_day("23:59:59.9999999") == 86399999999);
    BOOST_TEST(*time_of_day("01:02:03.5") == 3723500000);
    for (const char* bad : {"", "Z", "1", ":00", "123:00", "24:00", "12:60", "12:5", "12:00:",
                            "12:00:60", "12:00-00", "12:00:00.", "12:00:00.x", "12:00:00,5", "a:00"})
        BOOST_TEST(!time_of_day(bad).has_value(), bad);
}
