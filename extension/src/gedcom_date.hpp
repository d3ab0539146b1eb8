// GEDCOM dates (5.5, 5.5.1, 5.5.5 and 7.0) as people write them in
// genealogies: "12 MAR 1850", "ABT 1850", "BET 1800 AND 1810",
// "FROM 1900 TO 1910", "@#DJULIAN@ 1 JAN 1700", "INT 1850 (about then)",
// "(the winter of the war)". Pure C++: no PostgreSQL header.
//
// The grammar, with keywords and months in any case and tokens separated by
// spaces:
//   value    = date | FROM date [TO date] | TO date | BEF date | AFT date
//            | BET date AND date | (ABT | CAL | EST) date | INT date phrase
//            | phrase
//   phrase   = "(" text ")"            text: no control character, no ")"
//   date     = [calendar] [[day] month] year [epoch]
//   calendar = @#DGREGORIAN@ | @#DJULIAN@ | @#DHEBREW@ | @#DFRENCH R@
//            | @#DROMAN@ | @#DUNKNOWN@ | GREGORIAN | JULIAN | HEBREW | FRENCH_R
//   year     = 1 to 4 digits, from 1; Gregorian also "1699/00" (dual year)
//   epoch    = B.C. | BCE               (Gregorian and Julian only)
// A day must exist in its month: 29 FEB only in a leap year, 6 days in the
// French republican COMP, 30 in every Hebrew and other French month.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace family::gedcom {

// nullopt when `text` is a GEDCOM date; else what is wrong, in a sentence
// ("31 FEB 1850: FEB has at most 29 days").
std::optional<std::string> date_error(std::string_view text);

// A day of the proleptic Gregorian calendar; year 0 is 1 B.C.
struct Day {
    int year, month, day;
    bool operator==(const Day& o) const {
        return year == o.year && month == o.month && day == o.day;
    }
};

// The first day a GEDCOM date can mean: "MAR 1850" and "ABT 1850" start
// on 1 MAR and 1 JAN 1850, "BET 1800 AND 1810" and "FROM 1800 TO 1810" on
// 1 JAN 1800, a Julian date on its Gregorian day, a dual year in its second
// year. nullopt when the date has no first day (BEF, TO, a phrase), is in
// another calendar (Hebrew, French, Roman, unknown), falls before 4712 B.C.
// (PostgreSQL's days start in 4713 B.C.) or is not a date.
std::optional<Day> first_day(std::string_view text);

// A date in GEDCOM 7's spelling: the DATE payload and its PHRASE ("" when
// none). GEDCOM 7 has no calendar escapes, dual years, B.C., INT or bare
// phrases, and takes keywords in capitals only:
//   "12 MAR 1850"            -> "12 MAR 1850"
//   "INT 1850 (about then)"  -> "1850", phrase "about then"
//   "(the winter)"           -> "", phrase "the winter"
//   "@#DJULIAN@ 1 JAN 1700"  -> "JULIAN 1 JAN 1700", phrase "@#DJULIAN@ 1 JAN 1700"
//   "12 MAR 1699/00"         -> "12 MAR 1700", phrase "12 MAR 1699/00"
//   "@#DROMAN@ 12 AD"        -> "", phrase "@#DROMAN@ 12 AD" (no such calendar)
// Any other change of spelling keeps the text as written in the phrase.
// `text` must be a GEDCOM date (date_error says nothing).
struct Date7 {
    std::string date, phrase;
    bool operator==(const Date7& o) const { return date == o.date && phrase == o.phrase; }
};
Date7 to_gedcom7(std::string_view text);

// The date a DATE payload and its PHRASE stand for, as family keeps it:
// the phrase itself when it is the date as written (to_gedcom7 of it gives
// them back), else "INT date (phrase)" for a single date, "(phrase)" without
// a date, else (a range, or a phrase with a ")") the date alone. Not
// checked: date_error says whether it is one.
std::string from_gedcom7(std::string_view date, std::string_view phrase);

}  // namespace family::gedcom
