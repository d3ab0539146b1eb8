// What export_gedcom writes, and that the importer reads it back as it was:
// a small family line by line, then random genealogies through the planner.
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "gedcom_plan.hpp"
#include "gedcom_writer.hpp"

using namespace family::gedcom;

namespace {

Moment at(int y, int m, int d, std::int64_t micros = 0) {
    return {Moment::Kind::Finite, {y, m, d}, micros};
}

const std::string kHead =
    "0 HEAD\n1 GEDC\n2 VERS 7.0\n1 SCHMA\n"
    "2 TAG _CURRENT https://family.example/gedcom/_CURRENT\n"
    "2 TAG _FATHER_RANK https://family.example/gedcom/_FATHER_RANK\n"
    "2 TAG _MOTHER_RANK https://family.example/gedcom/_MOTHER_RANK\n"
    "2 TAG _PARENTS_ONLY https://family.example/gedcom/_PARENTS_ONLY\n"
    "1 SOUR family\n2 VERS 0.7.0\n2 NAME family\n";

// A person as the test builds it (the writer keeps views into it).
struct P {
    std::int64_t id;
    std::string first, last;
    std::optional<std::string> sex, birth_date, birth_place, death_date, death_place;
    std::int64_t father = 0, mother = 0;
    int father_rank = 0, mother_rank = 0;
    bool withhold = false;
};

PersonRow row(const P& p) {
    auto view = [](const std::optional<std::string>& s) {
        return s ? std::optional<std::string_view>(*s) : std::nullopt;
    };
    return {p.id,           p.first,           p.last,        view(p.sex),   view(p.birth_date),
            view(p.birth_place), view(p.death_date), view(p.death_place), p.father, p.mother,
            p.father_rank,  p.mother_rank,     p.withhold};
}

std::string write(const std::vector<P>& persons, const std::vector<RelationshipRow>& relationships) {
    Writer w;
    for (const P& p : persons) w.person(row(p));
    for (const RelationshipRow& r : relationships) w.relationship(r);
    return w.write("0.7.0");
}

}  // namespace

BOOST_AUTO_TEST_CASE(gedcom_writer_a_family) {
    std::vector<P> persons{
        {1, "John", "Lee", "M", "ABT 1840", "York", "3 JAN 1900", std::nullopt},
        {2, "Mary", "Bell", "F", std::nullopt, std::nullopt, std::nullopt, "Leeds"},
        {3, "Ann", "Lee", "F", "@#DJULIAN@ 1 JAN 1700", std::nullopt, std::nullopt, std::nullopt,
         1, 2, 4, 5},
        {4, "@home", "", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, 0, 2,
         0, 1},
        {5, "", "", "X", "12 MAR 1850", "here", std::nullopt, std::nullopt, 0, 0, 0, 0, true},
    };
    std::string got = write(
        persons, {{1, 2, at(1870, 3, 12, 37800500000), at(1880, 1, 1)},
                  {2, 5, {Moment::Kind::MinusInfinity}, std::nullopt}});
    std::string want = kHead +
                       "0 @I1@ INDI\n1 NAME John /Lee/\n1 SEX M\n1 BIRT\n2 DATE ABT 1840\n2 PLAC York\n"
                       "1 DEAT\n2 DATE 3 JAN 1900\n1 FAMS @F1@\n"
                       "0 @I2@ INDI\n1 NAME Mary /Bell/\n1 SEX F\n1 DEAT\n2 PLAC Leeds\n"
                       "1 FAMS @F1@\n1 FAMS @F2@\n1 FAMS @F3@\n"
                       "0 @I3@ INDI\n1 NAME Ann /Lee/\n1 SEX F\n1 BIRT\n2 DATE JULIAN 1 JAN 1700\n"
                       "3 PHRASE @@#DJULIAN@ 1 JAN 1700\n1 FAMC @F1@\n2 _FATHER_RANK 4\n2 _MOTHER_RANK 5\n"
                       "0 @I4@ INDI\n1 NAME @@home //\n1 FAMC @F3@\n2 _MOTHER_RANK 1\n"
                       "0 @I5@ INDI\n1 FAMS @F2@\n"
                       "0 @F1@ FAM\n1 HUSB @I1@\n1 WIFE @I2@\n1 CHIL @I3@\n1 MARR\n2 DATE 12 MAR 1870\n"
                       "3 TIME 10:30:00.5Z\n1 DIV\n2 DATE 1 JAN 1880\n"
                       "0 @F2@ FAM\n1 HUSB @I2@\n1 WIFE @I5@\n1 _CURRENT\n"
                       "0 @F3@ FAM\n1 WIFE @I2@\n1 CHIL @I4@\n"
                       "0 TRLR\n";
    BOOST_TEST(got == want);
}

BOOST_AUTO_TEST_CASE(gedcom_writer_days_and_times) {
    BOOST_TEST(day_text({1850, 3, 12}) == "12 MAR 1850");
    BOOST_TEST(day_text({0, 1, 1}) == "1 JAN 1 BCE");
    BOOST_TEST(day_text({-43, 3, 15}) == "15 MAR 44 BCE");
    BOOST_TEST(day_text({-4711, 1, 1}) == "1 JAN 4712 BCE");
    BOOST_TEST(day_text({-4712, 12, 31}) == "");  // before GEDCOM's first day we read
    BOOST_TEST(day_text({10000, 1, 1}) == "");    // five digits
    BOOST_TEST(time_text(0) == "00:00:00Z");
    BOOST_TEST(time_text(86399999999) == "23:59:59.999999Z");
    BOOST_TEST(time_text(45296120000) == "12:34:56.12Z");
}

BOOST_AUTO_TEST_CASE(gedcom_writer_what_a_year_cannot_hold) {
    // Starts and ends GEDCOM's years cannot hold: the event without a date
    // (an unknown start; an end at the start). Persons out of id order, and
    // links to persons not written, left out.
    std::vector<P> persons{{7, "B", "", std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                            std::nullopt, 9, 0, 2, 0},
                           {3, "A", ""}};
    std::string got = write(persons, {{3, 7, at(12000, 1, 1), Moment{Moment::Kind::PlusInfinity}},
                                      {3, 8, at(1900, 1, 1), std::nullopt}});
    std::string want = kHead +
                       "0 @I3@ INDI\n1 NAME A //\n1 FAMS @F1@\n"
                       "0 @I7@ INDI\n1 NAME B //\n1 FAMS @F1@\n"
                       "0 @F1@ FAM\n1 HUSB @I3@\n1 WIFE @I7@\n1 MARR Y\n1 DIV Y\n"
                       "0 TRLR\n";
    BOOST_TEST(got == want);
}

namespace {

// A random genealogy the extension could hold: couples with histories
// (remarriages, the same two again, current ones of the dead), children of
// couples either way round, of single parents, without parents; names,
// dates in every spelling, places.
struct Genealogy {
    std::vector<P> persons;
    std::vector<RelationshipRow> relationships;
};

Genealogy random_genealogy(unsigned seed, int n) {
    std::mt19937 rng(seed);
    auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<unsigned>(k)); };
    const char* dates[] = {"12 MAR 1850", "ABT 1850", "BET 1800 AND 1810", "FROM 1900 TO 1910",
                           "@#DJULIAN@ 1 JAN 1700", "12 MAR 1699/00", "INT 1850 (about then)",
                           "(the winter of the war)", "44 B.C.", "JULIAN 3 MAR 1600", "abt 1850",
                           "@#DFRENCH R@ 1 VEND 5", "@#DROMAN@ 12", "BEF 1900", "MAR 1900",
                           "EST 1820", "TO 1900", "@#DHEBREW@ 1 TSH 5000"};
    const char* names[] = {"Ann", "Zoë", "Jean-Paul", "@odd", "Ó Briain", "李", "Mary Ann"};
    Genealogy g;
    std::vector<int> current(n + 1, 0);  // the person's current partner
    std::map<std::pair<int, int>, int> last_start;  // a person's last start, by year
    std::vector<int> started(n + 1, 1000);
    auto maybe = [&](const char* const* from, int k) -> std::optional<std::string> {
        if (pick(3) == 0) return std::nullopt;
        return std::string(from[pick(k)]);
    };
    for (int id = 1; id <= n; ++id) {
        P p{id, names[pick(7)], pick(4) ? names[pick(7)] : ""};
        const char* sexes[] = {"M", "F", "X"};
        if (pick(4)) p.sex = sexes[pick(3)];
        p.birth_date = maybe(dates, 18);
        if (pick(2)) p.birth_place = "Place " + std::to_string(pick(50));
        p.death_date = maybe(dates, 18);
        if (pick(4) == 0) p.death_place = "Ó " + std::to_string(pick(9));
        // Parents: a couple of earlier persons, or one, or none.
        if (id > 4 && pick(4)) {
            int f = 1 + pick(id - 1), m = 1 + pick(id - 1);
            if (f != m && pick(5)) {
                // They must be a couple: a relationship, sometimes ended,
                // sometimes one of several of theirs.
                int a = std::min(f, m), b = std::max(f, m);
                if (!last_start.count({a, b}) || pick(6) == 0) {
                    for (int who : {a, b})
                        if (current[who]) {  // end their current one first
                            for (auto& r : g.relationships)
                                if (!r.ended && (r.a == who || r.b == who))
                                    r.ended = at(started[who] + 1, 1, 1);
                            current[current[who]] = 0;
                            current[who] = 0;
                        }
                    int year = std::max(started[a], started[b]) + 2;
                    started[a] = started[b] = year;
                    RelationshipRow r{pick(2) ? a : b, 0, at(year, 1 + pick(12), 1 + pick(28),
                                                              pick(3) ? 0 : 3600000000LL * pick(24))};
                    r.b = r.a == a ? b : a;
                    if (pick(3) == 0) r.started = {Moment::Kind::MinusInfinity};
                    if (pick(3) == 0) {
                        r.ended = at(year + 1, 2, 3);
                        started[a] = started[b] = year + 1;
                    } else {
                        current[a] = b;
                        current[b] = a;
                    }
                    g.relationships.push_back(r);
                    last_start[{a, b}] = year;
                }
                p.father = f;
                p.mother = m;
                p.father_rank = 1 + pick(5);
                p.mother_rank = 1 + pick(5);
            } else if (pick(2)) {
                p.father = f;
                p.father_rank = 1 + pick(5);
            } else {
                p.mother = m;
                p.mother_rank = 1 + pick(5);
            }
        }
        g.persons.push_back(p);
    }
    // Couples without children too.
    for (int k = 0; k < n / 10; ++k) {
        int a = 1 + pick(n), b = 1 + pick(n);
        if (a == b || current[a] || current[b]) continue;
        int year = std::max(started[a], started[b]) + 2;
        started[a] = started[b] = year;
        current[a] = b;
        current[b] = a;
        g.relationships.push_back({a, b, at(year, 6, 1), std::nullopt});
    }
    return g;
}

// A genealogy as comparable facts, each person by its id.
using Facts = std::set<std::string>;

std::string moment(const Moment& m) {
    if (m.kind == Moment::Kind::MinusInfinity) return "-infinity";
    return std::to_string(m.day.year) + "-" + std::to_string(m.day.month) + "-" +
           std::to_string(m.day.day) + "+" + std::to_string(m.micros);
}
std::string instant(const Instant& i) {
    if (!i.day) return "-infinity";
    return moment({Moment::Kind::Finite, *i.day, i.micros});
}
std::string opt(const std::optional<std::string>& s) { return s ? "'" + *s + "'" : "null"; }
std::string opt(std::optional<std::string_view> s) {
    return s ? "'" + std::string(*s) + "'" : "null";
}

Facts facts(const Genealogy& g) {
    Facts f;
    for (const P& p : g.persons) {
        f.insert(std::to_string(p.id) + " " + p.first + "|" + p.last + " " + opt(p.sex) + " " +
                 opt(p.birth_date) + " " + opt(p.birth_place) + " " + opt(p.death_date) + " " +
                 opt(p.death_place) + " " + std::to_string(p.father) + "/" +
                 std::to_string(p.father_rank) + " " + std::to_string(p.mother) + "/" +
                 std::to_string(p.mother_rank));
    }
    for (const RelationshipRow& r : g.relationships)
        f.insert("rel " + std::to_string(std::min(r.a, r.b)) + "-" + std::to_string(std::max(r.a, r.b)) +
                 " " + moment(r.started) + " " + (r.ended ? moment(*r.ended) : "current"));
    return f;
}

Facts facts(const Plan& plan) {
    Facts f;
    auto id = [&](int i) -> std::int64_t {
        return i < 0 ? 0 : std::stoll(std::string(plan.text(plan.persons[i].xref)->substr(1)));
    };
    for (std::size_t i = 0; i < plan.persons.size(); ++i) {
        const NewPerson& p = plan.persons[i];
        f.insert(std::to_string(id(static_cast<int>(i))) + " " + std::string(*plan.text(p.first_name)) +
                 "|" + std::string(*plan.text(p.last_name)) + " " + opt(plan.text(p.sex)) + " " +
                 opt(plan.text(p.birth_date)) + " " + opt(plan.text(p.birth_place)) + " " +
                 opt(plan.text(p.death_date)) + " " + opt(plan.text(p.death_place)) + " " +
                 std::to_string(id(p.father)) + "/" + std::to_string(p.father_rank) + " " +
                 std::to_string(id(p.mother)) + "/" + std::to_string(p.mother_rank));
    }
    for (const NewRelationship& r : plan.relationships)
        f.insert("rel " + std::to_string(std::min(id(r.a), id(r.b))) + "-" +
                 std::to_string(std::max(id(r.a), id(r.b))) + " " + instant(r.started) + " " +
                 (r.ended ? instant(*r.ended) : "current"));
    return f;
}

}  // namespace

BOOST_AUTO_TEST_CASE(gedcom_writer_round_trips) {
    // The importer reads back what the writer wrote, date spellings and all:
    // every fact of 50 random genealogies, and no issue.
    for (unsigned seed = 1; seed <= 50; ++seed) {
        Genealogy g = random_genealogy(seed, 200);
        std::string file = write(g.persons, g.relationships);
        Plan plan = plan_import(file, 3);
        BOOST_TEST(plan.issues.empty(), "seed " << seed << ": " << plan.issues.size() << " issues, first: "
                                                << (plan.issues.empty() ? "" : plan.issues[0].message));
        Facts want = facts(g), got = facts(plan);
        std::vector<std::string> missing, extra;
        std::set_difference(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(missing));
        std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
        BOOST_TEST(missing.empty(), "seed " << seed << " lost: " << (missing.empty() ? "" : missing[0]));
        BOOST_TEST(extra.empty(), "seed " << seed << " made up: " << (extra.empty() ? "" : extra[0]));
    }
}

BOOST_AUTO_TEST_CASE(gedcom_writer_a_couple_twice_from_no_known_time) {
    // The same two, twice, both from -infinity: the FAMs in the order the
    // relationships were given; the first ended (DIV Y: at its start), the
    // second current.
    std::vector<P> persons{{1, "A", ""}, {2, "B", ""}};
    Moment never{Moment::Kind::MinusInfinity};
    std::string file = write(persons, {{1, 2, never, never}, {2, 1, never, std::nullopt}});
    BOOST_TEST(file.find("0 @F1@ FAM\n1 HUSB @I1@\n1 WIFE @I2@\n1 DIV Y\n"
                         "0 @F2@ FAM\n1 HUSB @I1@\n1 WIFE @I2@\n1 _CURRENT\n") != std::string::npos,
               file);
    Plan plan = plan_import(file, 3);
    BOOST_TEST_REQUIRE(plan.relationships.size() == 2u);
    BOOST_TEST((plan.relationships[0].ended && !plan.relationships[0].ended->day));
    BOOST_TEST(!plan.relationships[1].ended);
}

BOOST_AUTO_TEST_CASE(gedcom_writer_children_both_ways_round) {
    // Two children of one couple, each with the other as father, and one
    // relationship: the second child's FAM carries no relationship.
    std::vector<P> persons{{1, "A", ""}, {2, "B", ""},
                           {3, "C", "", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, 1, 2, 1, 2},
                           {4, "D", "", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, 2, 1, 3, 4}};
    std::string file = write(persons, {{1, 2, at(1900, 1, 1), std::nullopt}});
    BOOST_TEST(file.find("0 @F2@ FAM\n1 HUSB @I2@\n1 WIFE @I1@\n1 CHIL @I4@\n1 _PARENTS_ONLY\n") !=
               std::string::npos);
    Plan plan = plan_import(file, 3);
    BOOST_TEST(plan.issues.empty());
    BOOST_TEST(plan.relationships.size() == 1u);
    BOOST_TEST(plan.parent_links == 2);
}

BOOST_AUTO_TEST_CASE(gedcom_writer_withholds) {
    std::vector<P> persons{{1, "A", "", "F", "1 JAN 2000", "Here", std::nullopt, std::nullopt, 0, 0, 0, 0, true}};
    BOOST_TEST(write(persons, {}) == kHead + "0 @I1@ INDI\n1 NAME A //\n0 TRLR\n");
    // A couple of a woman and a man: the man is HUSB, unless either's sex is
    // withheld (their order would tell it).
    std::vector<P> couple{{1, "W", "", "F"}, {2, "M", "", "M"}};
    std::string shown = write(couple, {{1, 2, at(1900, 1, 1), std::nullopt}});
    BOOST_TEST(shown.find("1 HUSB @I2@\n1 WIFE @I1@\n") != std::string::npos);
    couple[0].withhold = true;
    std::string hidden = write(couple, {{1, 2, at(1900, 1, 1), std::nullopt}});
    BOOST_TEST(hidden.find("1 HUSB @I1@\n1 WIFE @I2@\n") != std::string::npos);
    BOOST_TEST(hidden.find("1 SEX F") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(gedcom_writer_texts_older_rules_allowed) {
    // A name of 70,000 bytes, and one with a line break (rows written
    // before 0.4.0's rules): written whole, on one line.
    std::vector<P> persons{{1, std::string(70000, 'x'), "Long"}, {2, "Two\nLines", "Tab\there"}};
    std::string file = write(persons, {});
    BOOST_TEST(file.find("1 NAME " + std::string(70000, 'x') + " /Long/\n") != std::string::npos);
    BOOST_TEST(file.find("1 NAME Two Lines /Tab here/\n") != std::string::npos);
    Plan plan = plan_import(file, 3);
    BOOST_TEST(plan.persons.size() == 2u);
}

BOOST_AUTO_TEST_CASE(gedcom_writer_in_pieces) {
    // A file of several MiB comes in pieces of whole records, about 1 MiB
    // each, that make the whole file.
    Genealogy g = random_genealogy(99, 40000);
    Writer w;
    for (const P& p : g.persons) w.person(row(p));
    for (const RelationshipRow& r : g.relationships) w.relationship(r);
    std::vector<std::string> pieces;
    w.write("0.7.0", [&](std::string_view piece) { pieces.emplace_back(piece); });
    std::string whole;
    for (const std::string& p : pieces) {
        BOOST_TEST(p.size() < (1u << 20) + 4096);
        BOOST_TEST(p.substr(0, 2) == "0 ");  // a record starts each
        whole += p;
    }
    BOOST_TEST(pieces.size() > 2u);
    BOOST_TEST(whole == w.write("0.7.0"));
}
