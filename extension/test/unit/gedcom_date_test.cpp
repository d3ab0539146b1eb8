// GEDCOM dates: what genealogies write is accepted, and what is not a date
// is refused with a reason.
#include <boost/test/unit_test.hpp>

#include "gedcom_date.hpp"

using family::gedcom::date_error;

BOOST_AUTO_TEST_CASE(gedcom_dates_people_write) {
    for (const char* ok : {"1850",
                           "MAR 1850",
                           "12 MAR 1850",
                           "1 JAN 1",
                           "31 DEC 9999",
                           "29 FEB 2000",
                           "29 FEB 1996",
                           "ABT 1850",
                           "CAL 1850",
                           "EST 1850",
                           "BEF 12 MAR 1850",
                           "AFT 1850",
                           "BET 1800 AND 1810",
                           "BET JAN 1800 AND 3 FEB 1810",
                           "FROM 1900",
                           "FROM 1900 TO 1910",
                           "TO 1910",
                           "INT 1850 (about then)",
                           "(the winter of the war)",
                           "@#DJULIAN@ 29 FEB 1700",
                           "@#DGREGORIAN@ 1850",
                           "@#DHEBREW@ 1 TSH 5600",
                           "@#DFRENCH R@ 6 COMP 11",
                           "@#DFRENCH R@ VEND 3",
                           "@#DROMAN@ 12 MAR 1850",
                           "@#DUNKNOWN@ 1850",
                           "JULIAN 1 MAR 1700",
                           "HEBREW ADS 5784",
                           "FRENCH_R 30 THER 2",
                           "GREGORIAN 1850",
                           "44 BCE",
                           "44 B.C.",
                           "JULIAN 15 MAR 44 BCE",
                           "12 Mar 1850",
                           "abt 1850",
                           "bet 1800 and 1810",
                           "@#dfrench  r@ 1 VEND 2",
                           "  12  MAR  1850 ",
                           "29 FEB 1695/96",
                           "1699/00",
                           "FROM @#DJULIAN@ 1700 TO 1750",
                           "INT 12 MAR 1850 (see the letter)",
                           "(a) "})
        BOOST_TEST(!date_error(ok).has_value(), ok << ": " << date_error(ok).value_or(""));
}

BOOST_AUTO_TEST_CASE(what_is_not_a_gedcom_date) {
    for (const char* bad : {"",
                            " ",
                            "yesterday",
                            "12/03/1850",
                            "INT 1850 about then)",  // a phrase without its "(" (found by the fuzzer)
                            "1850-03-12",
                            "31 FEB 1850",
                            "29 FEB 1900",
                            "29 FEB 1850",
                            "30 FEB 2000",
                            "31 APR 1850",
                            "0 MAR 1850",
                            "32 JAN 1850",
                            "123 MAR 1850",
                            "0",
                            "0000",
                            "12345",
                            "MARCH 1850",
                            "12 1850",
                            "12 MAR",
                            "MAR",
                            "ABT",
                            "ABT ABT 1850",
                            "BET 1800",
                            "BET 1800 OR 1810",
                            "BET 1800 AND",
                            "FROM",
                            "FROM 1900 TO",
                            "1850 TO 1900",
                            "INT 1850",
                            "INT (why)",
                            "()",
                            "(unclosed",
                            "(a) b",
                            "1850 (a)",
                            "@#DFOO@ 1850",
                            "@#DHEBREW@ 12 MAR 1850",
                            "@#DFRENCH R@ 7 COMP 11",
                            "@#DHEBREW@ 31 TSH 5600",
                            "HEBREW 1850 BCE",
                            "1699/01",
                            "1699/0",
                            "29 FEB 1699/00",
                            "JULIAN 1699/00",
                            "1699/00 BCE",
                            "1850 BCE BCE",
                            "B.C.",
                            "12 MAR 1850 1851",
                            "1 1 1",
                            "1850\t",
                            "18\n50",
                            "FRENCH_R JAN 3",
                            "FROM TO 1900"})
        BOOST_TEST(date_error(bad).has_value(), '"' << bad << "\" accepted");
    BOOST_TEST(date_error(std::string(201, '1')).has_value());
    BOOST_TEST(*date_error("31 FEB 1850") == "FEB 1850 has no day 31");
    BOOST_TEST(*date_error("MARCH 1850") ==
               "\"MARCH\" is not a month (JAN to DEC) of its calendar");
    BOOST_TEST(*date_error("") == "no date");
    BOOST_TEST(*date_error("INT 1850") == "INT needs a phrase in parentheses after the date");
}

BOOST_AUTO_TEST_CASE(gedcom_dates_first_day) {
    using family::gedcom::Day;
    using family::gedcom::first_day;
    auto is = [](const char* text, Day want) {
        std::optional<Day> got = first_day(text);
        BOOST_TEST_INFO(text);
        BOOST_TEST_REQUIRE(got.has_value());
        BOOST_TEST(got->year == want.year);
        BOOST_TEST(got->month == want.month);
        BOOST_TEST(got->day == want.day);
    };
    is("12 MAR 1850", {1850, 3, 12});
    is("mar 1850", {1850, 3, 1});
    is("1850", {1850, 1, 1});
    is("ABT 1850", {1850, 1, 1});
    is("AFT 6 JUN 1944", {1944, 6, 6});
    is("BET 1800 AND 1810", {1800, 1, 1});
    is("FROM DEC 1900 TO 1910", {1900, 12, 1});
    is("INT 1850 (about then)", {1850, 1, 1});
    is("@#DGREGORIAN@ 1 JAN 2000", {2000, 1, 1});
    // Dual years are in their second year; Julian dates on their Gregorian day.
    is("11 FEB 1731/32", {1732, 2, 11});
    is("@#DJULIAN@ 4 OCT 1582", {1582, 10, 14});
    is("JULIAN 29 FEB 1700", {1700, 3, 11});
    is("44 BCE", {-43, 1, 1});
    is("@#DJULIAN@ 15 MAR 44 B.C.", {-43, 3, 13});
    is("@#DJULIAN@ 1 JAN 4712 B.C.", {-4712, 11, 24});  // the earliest year given
    for (const char* none : {"BEF 1850", "TO 1910", "(the winter of the war)", "@#DHEBREW@ 1 TSH 5600",
                             "@#DFRENCH R@ 6 COMP 11", "@#DROMAN@ 1850", "@#DUNKNOWN@ 1850",
                             "31 FEB 1850", "", "4713 BCE", "FROM JULIAN 1 MAR 6144 BCE TO 1699/00"}) {
        BOOST_TEST_INFO(none);
        BOOST_TEST(!first_day(none).has_value());
    }
}

BOOST_AUTO_TEST_CASE(gedcom_dates_in_gedcom_7) {
    using family::gedcom::Date7;
    using family::gedcom::from_gedcom7;
    using family::gedcom::to_gedcom7;
    auto is = [](const char* text, Date7 want) {
        BOOST_TEST_INFO(text);
        Date7 got = to_gedcom7(text);
        BOOST_TEST(got.date == want.date);
        BOOST_TEST(got.phrase == want.phrase);
    };
    is("12 MAR 1850", {"12 MAR 1850", ""});
    is("BET 1800 AND 1810", {"BET 1800 AND 1810", ""});
    is("abt  1850", {"ABT 1850", "abt  1850"});
    is("INT 1850 (about then)", {"1850", "about then"});
    is("INT ABT 1850 (about then)", {"ABT 1850", "about then"});
    is("(the winter of the war)", {"", "the winter of the war"});
    is("@#DJULIAN@ 1 JAN 1700", {"JULIAN 1 JAN 1700", "@#DJULIAN@ 1 JAN 1700"});
    is("@#DGREGORIAN@ 1 JAN 1700", {"GREGORIAN 1 JAN 1700", "@#DGREGORIAN@ 1 JAN 1700"});
    is("@#DFRENCH R@ 1 VEND 5", {"FRENCH_R 1 VEND 5", "@#DFRENCH R@ 1 VEND 5"});
    is("@#DHEBREW@ 1 TSH 5000", {"HEBREW 1 TSH 5000", "@#DHEBREW@ 1 TSH 5000"});
    is("12 MAR 1699/00", {"12 MAR 1700", "12 MAR 1699/00"});
    is("44 B.C.", {"44 BCE", "44 B.C."});
    is("MAR 9999/00", {"MAR 10000", "MAR 9999/00"});  // GEDCOM 7 years have any length
    is("@#DROMAN@ 12", {"", "@#DROMAN@ 12"});
    is("@#DUNKNOWN@ 1850", {"", "@#DUNKNOWN@ 1850"});

    // Back: the phrase when it is the date as written, else INT or a bare phrase.
    BOOST_TEST(from_gedcom7("12 MAR 1850", "") == "12 MAR 1850");
    BOOST_TEST(from_gedcom7("JULIAN 1 JAN 1700", "@#DJULIAN@ 1 JAN 1700") == "@#DJULIAN@ 1 JAN 1700");
    BOOST_TEST(from_gedcom7("ABT 1850", "abt  1850") == "abt  1850");
    BOOST_TEST(from_gedcom7("MAR 10000", "MAR 9999/00") == "MAR 9999/00");
    BOOST_TEST(from_gedcom7("", "@#DROMAN@ 12") == "@#DROMAN@ 12");
    BOOST_TEST(from_gedcom7("1850", "about then") == "INT 1850 (about then)");
    BOOST_TEST(from_gedcom7("30 JAN 1649", "30 January 1648/49") == "INT 30 JAN 1649 (30 January 1648/49)");
    // A phrase that is a date, but not this one, is the date's words.
    BOOST_TEST(from_gedcom7("1850", "1851") == "INT 1850 (1851)");
    BOOST_TEST(from_gedcom7("", "the winter") == "(the winter)");
    // A range keeps its date; the phrase has no place in 5.5.1's spelling.
    BOOST_TEST(from_gedcom7("BET 1800 AND 1810", "in the 1800s") == "BET 1800 AND 1810");
    BOOST_TEST(from_gedcom7("not a date", "words") == "not a date");
    // A phrase with ")" has no 5.5.1 spelling: the date stays.
    BOOST_TEST(from_gedcom7("1850", "about (circa) then") == "1850");
    BOOST_TEST(from_gedcom7("", "a) b") == "");
}
