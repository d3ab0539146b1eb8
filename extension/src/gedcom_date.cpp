#include "gedcom_date.hpp"

#include <array>
#include <cctype>
#include <vector>

namespace family::gedcom {

namespace {

enum class Calendar { Gregorian, Julian, Hebrew, French, Other };

struct Month {
    const char* name;
    int days;  // the most a month of this name has
};

constexpr std::array<Month, 12> kGregorian{{{"JAN", 31},
                                            {"FEB", 29},
                                            {"MAR", 31},
                                            {"APR", 30},
                                            {"MAY", 31},
                                            {"JUN", 30},
                                            {"JUL", 31},
                                            {"AUG", 31},
                                            {"SEP", 30},
                                            {"OCT", 31},
                                            {"NOV", 30},
                                            {"DEC", 31}}};
constexpr std::array<Month, 13> kHebrew{{{"TSH", 30},
                                         {"CSH", 30},
                                         {"KSL", 30},
                                         {"TVT", 30},
                                         {"SHV", 30},
                                         {"ADR", 30},
                                         {"ADS", 30},
                                         {"NSN", 30},
                                         {"IYR", 30},
                                         {"SVN", 30},
                                         {"TMZ", 30},
                                         {"AAV", 30},
                                         {"ELL", 30}}};
constexpr std::array<Month, 13> kFrench{{{"VEND", 30},
                                         {"BRUM", 30},
                                         {"FRIM", 30},
                                         {"NIVO", 30},
                                         {"PLUV", 30},
                                         {"VENT", 30},
                                         {"GERM", 30},
                                         {"FLOR", 30},
                                         {"PRAI", 30},
                                         {"MESS", 30},
                                         {"THER", 30},
                                         {"FRUC", 30},
                                         {"COMP", 6}}};

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// 4712 B.C.: from here on, every date is a day PostgreSQL can hold (it
// starts in 4713 B.C.), and the day number below stays positive.
constexpr int kEarliestYear = -4711;

class Parser {
  public:
    explicit Parser(std::string_view text) {
        for (std::size_t i = 0; i < text.size();) {
            if (text[i] == ' ') {
                ++i;
                continue;
            }
            if (text[i] == '(') {  // a phrase runs to its ")" (spaces and all)
                std::size_t end = text.find(')', i);
                tokens_.emplace_back(
                    text.substr(i, end == std::string_view::npos ? end : end + 1 - i));
                i = end == std::string_view::npos ? text.size() : end + 1;
                continue;
            }
            std::size_t end = text.find_first_of(" (", i);
            if (end == std::string_view::npos) end = text.size();
            std::string token(text.substr(i, end - i));
            // "@#DFRENCH R@" holds a space (or more): one token.
            std::size_t r = text.find_first_not_of(' ', end);
            if (upper(token) == "@#DFRENCH" && r != std::string_view::npos &&
                upper(text.substr(r, 2)) == "R@") {
                token = "@#DFRENCH R@";
                end = r + 2;
            }
            tokens_.push_back(token);
            i = end;
        }
    }

    // The value, then nothing after it.
    void value() {
        if (tokens_.empty()) throw std::string("no date");
        std::string first = upper(peek());
        if (first == "FROM") {
            next();
            date();
            if (!done() && upper(peek()) == "TO") {
                next();
                date();
            }
        } else if (first == "TO" || first == "BEF" || first == "AFT" || first == "ABT" ||
                   first == "CAL" || first == "EST") {
            next();
            date();
            if (first == "TO" || first == "BEF") first_.reset();  // no lower bound
        } else if (first == "BET") {
            next();
            date();
            if (done() || upper(peek()) != "AND") throw std::string("BET needs AND and a date");
            next();
            date();
        } else if (first == "INT") {
            next();
            date();
            if (done()) throw std::string("INT needs a phrase in parentheses after the date");
            phrase();
        } else if (!first.empty() && first[0] == '(') {
            phrase();
        } else {
            date();
        }
        if (!done()) throw "\"" + std::string(peek()) + "\" was not expected";
    }

    // The first day of the value's first date (once value() has read it).
    std::optional<Day> first_day() const { return first_; }

    const std::vector<std::string>& tokens() const { return tokens_; }

  private:
    bool done() const { return at_ == tokens_.size(); }
    std::string_view peek() const { return tokens_[at_]; }
    std::string_view next() { return tokens_[at_++]; }

    void phrase() {
        std::string_view p = next();
        if (p.front() != '(') throw std::string("a phrase is in parentheses");
        if (p.size() < 2 || p.back() != ')') throw std::string("a phrase ends with \")\"");
        if (p.size() == 2) throw std::string("a phrase holds text");
    }

    // [calendar] [[day] month] year [epoch]
    void date() {
        if (done()) throw std::string("a date is missing");
        Calendar cal = Calendar::Gregorian;
        std::string t = upper(peek());
        static const std::pair<const char*, Calendar> calendars[] = {
            {"@#DGREGORIAN@", Calendar::Gregorian}, {"GREGORIAN", Calendar::Gregorian},
            {"@#DJULIAN@", Calendar::Julian},       {"JULIAN", Calendar::Julian},
            {"@#DHEBREW@", Calendar::Hebrew},       {"HEBREW", Calendar::Hebrew},
            {"@#DFRENCH R@", Calendar::French},     {"FRENCH_R", Calendar::French},
            {"@#DROMAN@", Calendar::Other},         {"@#DUNKNOWN@", Calendar::Other}};
        bool named = false;
        for (const auto& [name, c] : calendars)
            if (t == name) {
                cal = c;
                named = true;
            }
        if (named) next();
        if (!named && !t.empty() && t[0] == '@') throw "unknown calendar " + std::string(peek());
        // Up to three parts before an optional epoch: day month year,
        // month year, or year.
        std::vector<std::string_view> parts;
        while (!done() && parts.size() < 3) {
            std::string u = upper(peek());
            if (u == "B.C." || u == "BCE" || u == "TO" || u == "AND" || u[0] == '(') break;
            parts.push_back(next());
            if (digits(parts.back()) && parts.size() >= 2) break;  // the year ends a date
            if (parts.size() == 1 && digits(parts.back()) &&
                (done() || !is_month(cal, upper(peek()))))
                break;  // a year alone (a day is followed by its month)
        }
        if (parts.empty()) throw std::string("a date is missing");
        std::string_view year_text = parts.back();
        int year = this->year(cal, year_text);
        int day = 0;
        const Month* month = nullptr;
        if (parts.size() >= 2) month = find_month(cal, upper(parts[parts.size() - 2]));
        if (parts.size() >= 2 && !month)
            throw "\"" + std::string(parts[parts.size() - 2]) + "\" is not a month" +
                (cal == Calendar::Gregorian || cal == Calendar::Julian ? " (JAN to DEC)" : "") +
                " of its calendar";
        if (parts.size() == 3) {
            if (!digits(parts[0]) || parts[0].size() > 2)
                throw "\"" + std::string(parts[0]) + "\" is not a day";
            day = std::stoi(std::string(parts[0]));
            int most = month->days;
            if (std::string(month->name) == "FEB" && !leap(cal, year, year_text)) most = 28;
            if (day < 1 || day > most)
                throw std::string(month->name) + " " + std::to_string(year) + " has no day " +
                    std::to_string(day);
        }
        bool before_christ = false;
        if (!done()) {
            std::string u = upper(peek());
            if (u == "B.C." || u == "BCE") {
                if (cal != Calendar::Gregorian && cal != Calendar::Julian)
                    throw std::string("only Gregorian and Julian years have an epoch");
                if (year_text.find('/') != std::string_view::npos)
                    throw std::string("a dual year has no epoch");
                next();
                before_christ = true;
            }
        }
        if (dates_++ > 0 || (cal != Calendar::Gregorian && cal != Calendar::Julian)) return;
        // A dual year's date falls in its second year.
        int y = before_christ ? 1 - year : year + (year_text.find('/') != std::string_view::npos);
        if (y < kEarliestYear) return;  // before any day PostgreSQL can hold
        int m = month ? static_cast<int>(month - kGregorian.data()) + 1 : 1;
        first_ = cal == Calendar::Julian ? julian_to_gregorian(y, m, day ? day : 1)
                                         : Day{y, m, day ? day : 1};
    }

    // Through the Julian day number (positive from 4713 B.C.).
    static Day julian_to_gregorian(int year, int month, int day) {
        long a = (14 - month) / 12, y = year + 4800 - a, m = month + 12 * a - 3;
        long jdn = day + (153 * m + 2) / 5 + 365 * y + y / 4 - 32083;
        long b = jdn + 32044, c = (4 * b + 3) / 146097, d = b - 146097 * c / 4;
        long e = (4 * d + 3) / 1461, f = d - 1461 * e / 4, g = (5 * f + 2) / 153;
        return Day{static_cast<int>(100 * c + e - 4800 + g / 10),
                   static_cast<int>(g + 3 - 12 * (g / 10)), static_cast<int>(f - (153 * g + 2) / 5 + 1)};
    }

    static const Month* find_month(Calendar cal, const std::string& name) {
        auto in = [&](const auto& months) -> const Month* {
            for (const Month& m : months)
                if (name == m.name) return &m;
            return nullptr;
        };
        switch (cal) {
            case Calendar::Hebrew:
                return in(kHebrew);
            case Calendar::French:
                return in(kFrench);
            default:
                return in(kGregorian);
        }
    }
    static bool is_month(Calendar cal, const std::string& name) {
        return find_month(cal, name) != nullptr;
    }

    // "1850", or a Gregorian dual year "1699/00" (the second year's last two
    // digits, one after the first's).
    int year(Calendar cal, std::string_view text) const {
        std::string_view main = text.substr(0, text.find('/'));
        if (!digits(main) || main.size() > 4) throw "\"" + std::string(text) + "\" is not a year";
        int y = std::stoi(std::string(main));
        if (y < 1) throw std::string("years count from 1");
        if (main.size() != text.size()) {
            std::string_view dual = text.substr(main.size() + 1);
            if (cal != Calendar::Gregorian)
                throw std::string("only Gregorian dates have a dual year");
            if (dual.size() != 2 || !digits(dual) || std::stoi(std::string(dual)) != (y + 1) % 100)
                throw "\"" + std::string(text) + "\" is not a dual year (as 1699/00)";
        }
        return y;
    }

    static bool leap(Calendar cal, int year, std::string_view text) {
        // A dual year's February falls in its second year.
        if (text.find('/') != std::string_view::npos) ++year;
        if (cal == Calendar::Julian) return year % 4 == 0;
        return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    }

    std::vector<std::string> tokens_;
    std::size_t at_ = 0;
    int dates_ = 0;  // read so far
    std::optional<Day> first_;
};

// The words that start a value other than a single date.
bool range_keyword(const std::string& word) {
    for (const char* k : {"FROM", "TO", "BEF", "AFT", "BET", "ABT", "CAL", "EST", "INT"})
        if (word == k) return true;
    return false;
}

}  // namespace

Date7 to_gedcom7(std::string_view text) {
    Parser parser(text);
    const std::vector<std::string>& tokens = parser.tokens();
    auto inside = [](const std::string& phrase) { return phrase.substr(1, phrase.size() - 2); };
    if (tokens.front()[0] == '(') return {"", inside(tokens.front())};
    bool interpreted = upper(tokens.front()) == "INT";
    std::size_t from = interpreted ? 1 : 0, to = tokens.size() - (interpreted ? 1 : 0);
    std::string date;
    for (std::size_t i = from; i < to; ++i) {
        std::string word = upper(tokens[i]);
        if (word == "@#DROMAN@" || word == "@#DUNKNOWN@") return {"", std::string(text)};
        if (word == "@#DFRENCH R@")
            word = "FRENCH_R";
        else if (word[0] == '@')
            word = word.substr(3, word.size() - 4);  // @#DJULIAN@: JULIAN
        else if (word == "B.C.")
            word = "BCE";
        else if (word.find('/') != std::string::npos)  // a dual year: its second
            word = std::to_string(std::stoi(word.substr(0, word.find('/'))) + 1);
        date += (date.empty() ? "" : " ") + word;
    }
    if (interpreted) return {date, inside(tokens.back())};
    return {date, date == text ? "" : std::string(text)};
}

std::string from_gedcom7(std::string_view date, std::string_view phrase) {
    if (phrase.empty()) return std::string(date);
    if (!date_error(phrase) && to_gedcom7(phrase) == Date7{std::string(date), std::string(phrase)})
        return std::string(phrase);
    std::string words = date.empty() ? "(" + std::string(phrase) + ")"
                        : date_error(date) || range_keyword(upper(Parser(date).tokens().front()))
                            ? std::string(date)
                            : "INT " + std::string(date) + " (" + std::string(phrase) + ")";
    // A phrase 5.5.1 cannot hold (a ")" in it): the date alone.
    return date_error(words) ? std::string(date) : words;
}

std::optional<std::string> date_error(std::string_view text) {
    for (char c : text) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F)
            return std::string(
                "a GEDCOM date holds no control character (spaces separate its words)");
    }
    if (text.size() > 200) return std::string("a GEDCOM date holds at most 200 bytes");
    try {
        Parser(text).value();
        return std::nullopt;
    } catch (const std::string& why) {
        return why;
    }
}

std::optional<Day> first_day(std::string_view text) {
    if (date_error(text)) return std::nullopt;
    Parser p(text);
    p.value();
    return p.first_day();
}

}  // namespace family::gedcom
