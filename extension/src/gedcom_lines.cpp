#include "gedcom_lines.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace family::gedcom {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// ANSEL (ANSI/NISO Z39.47) with GEDCOM's additions, 0xA1 to 0xCF: the
// spacing characters. 0 where nothing is defined.
constexpr std::array<char32_t, 0x30> kAnselSpacing{
    0,      0x0141, 0x00D8, 0x0110, 0x00DE, 0x00C6, 0x0152, 0x02B9,  // A0-A7
    0x00B7, 0x266D, 0x00AE, 0x00B1, 0x01A0, 0x01AF, 0x02BC, 0,       // A8-AF
    0x02BB, 0x0142, 0x00F8, 0x0111, 0x00FE, 0x00E6, 0x0153, 0x02BA,  // B0-B7
    0x0131, 0x00A3, 0x00F0, 0,      0x01A1, 0x01B0, 0x25A1, 0x25A0,  // B8-BF
    0x00B0, 0x2113, 0x2117, 0x00A9, 0x266F, 0x00BF, 0x00A1, 0x00DF,  // C0-C7
    0x20AC, 0,      0,      0,      0,      0x0065, 0x006F, 0x00DF,  // C8-CF
};
// 0xE0 to 0xFE: the combining marks, written before the letter they go on.
constexpr std::array<char32_t, 0x1F> kAnselCombining{
    0x0309, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0306, 0x0307,  // E0-E7
    0x0308, 0x030C, 0x030A, 0xFE20, 0xFE21, 0x0315, 0x030B, 0x0310,  // E8-EF
    0x0327, 0x0328, 0x0323, 0x0324, 0x0325, 0x0333, 0x0332, 0x0326,  // F0-F7
    0x031C, 0x032E, 0xFE22, 0xFE23, 0,      0,      0x0313,          // F8-FE
};
// Windows-1252, 0x80 to 0x9F (the rest is Latin-1). 0 where undefined.
constexpr std::array<char32_t, 0x20> kWindows1252{
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 80-87
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,       // 88-8F
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 90-97
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,  // 98-9F
};

// Decodes one UTF-8 sequence at s[i] and advances i past it. What is not a
// scalar value's shortest form gives kInvalid and advances one byte.
constexpr char32_t kInvalid = 0xFFFFFFFF;
char32_t utf8_at(std::string_view s, std::size_t& i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80) {
        ++i;
        return c;
    }
    // C0 and C1 would only start overlong forms; past F4 is past U+10FFFF.
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
    if (extra == 0 || c > 0xF4 || i + extra >= s.size()) {
        ++i;
        return kInvalid;
    }
    char32_t code = c & (0x7F >> (extra + 1));
    for (int k = 1; k <= extra; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) {
            ++i;
            return kInvalid;
        }
        code = (code << 6) | (b(i + k) & 0x3F);
    }
    constexpr char32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
        ++i;
        return kInvalid;
    }
    i += extra + 1;
    return code;
}

// Upper case, trimmed, and ASCII: this is read before the charset is known,
// so other bytes become '?'.
std::string upper_trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    std::string out(s);
    for (char& c : out) {
        unsigned char u = static_cast<unsigned char>(c);
        c = u >= 0x20 && u < 0x7F ? static_cast<char>(std::toupper(u)) : '?';
    }
    return out;
}

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

// GEDCOM 5.5 allows 20 characters; kept as a key, an id must stay far below
// what an index entry may hold.
constexpr std::size_t kLongestXref = 255;

struct Parsed {
    int level;
    std::string_view xref, tag, value;
};

// The grammar of one line: level [@xref@] tag [value]. Leading blanks are
// tolerated, as older files indent. nullopt-like: returns false and sets
// `error` when the line breaks it.
bool parse(std::string_view s, Parsed& out, std::string& error) {
    std::size_t i = 0;
    while (i < s.size() && is_space(s[i])) ++i;
    std::size_t digits = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == digits) {
        error = "a line begins with its level, a number: " + quoted(s);
        return false;
    }
    if (i - digits > 2) {
        error = "level " + quoted(s.substr(digits, i - digits), 12) + " is too deep";
        return false;
    }
    out.level = std::stoi(std::string(s.substr(digits, i - digits)));
    if (i == s.size() || !is_space(s[i])) {
        error = "a space follows the level: " + quoted(s);
        return false;
    }
    while (i < s.size() && is_space(s[i])) ++i;
    out.xref = {};
    if (i < s.size() && s[i] == '@') {
        std::size_t end = s.find('@', i + 1);
        if (end == std::string_view::npos || end == i + 1 || end + 1 == s.size() ||
            !is_space(s[end + 1])) {
            error = "a cross-reference id is @ID@ followed by a tag: " + quoted(s);
            return false;
        }
        out.xref = s.substr(i + 1, end - i - 1);
        if (out.xref.size() > kLongestXref) {
            error = "a cross-reference id of " + std::to_string(out.xref.size()) +
                    " bytes (GEDCOM allows 20): " + quoted(s);
            return false;
        }
        i = end + 1;
        while (i < s.size() && is_space(s[i])) ++i;
    }
    std::size_t tag = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    out.tag = s.substr(tag, i - tag);
    bool tag_ok = !out.tag.empty() && std::all_of(out.tag.begin(), out.tag.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!tag_ok) {
        error = "a line has a tag (letters, digits, _) after its level: " + quoted(s);
        return false;
    }
    out.value = i < s.size() ? s.substr(i + 1) : std::string_view{};
    return true;
}

bool blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return is_space(c) || c == '\x1a'; });
}

}  // namespace

std::string quoted(std::string_view s, std::size_t most) {
    if (s.size() <= most) return "\"" + std::string(s) + "\"";
    std::size_t cut = most;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return "\"" + std::string(s.substr(0, cut)) + "...\"";
}

const char* charset_name(Charset c) {
    switch (c) {
        case Charset::Utf8:
            return "UTF-8";
        case Charset::Utf16Le:
            return "UTF-16LE";
        case Charset::Utf16Be:
            return "UTF-16BE";
        case Charset::Ansel:
            return "ANSEL";
        case Charset::Ascii:
            return "ASCII";
        case Charset::Ansi:
            return "ANSI";
    }
    return "?";  // LCOV_EXCL_LINE: the switch names every Charset
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

Lines::Lines(std::string_view file) : file_(file) {
    auto starts = [&](std::string_view bom) { return file_.substr(0, bom.size()) == bom; };
    if (starts("\xEF\xBB\xBF")) {
        pos_ = 3;
        return;
    }
    if (starts("\xFF\xFE") || starts(std::string_view("0\0", 2))) {
        charset_ = Charset::Utf16Le;
        pos_ = starts("\xFF\xFE") ? 2 : 0;
        return;
    }
    if (starts("\xFE\xFF") || starts(std::string_view("\0" "0", 2))) {
        charset_ = Charset::Utf16Be;
        pos_ = starts("\xFE\xFF") ? 2 : 0;
        return;
    }
    // A byte charset: HEAD's lines are ASCII in all of them. Read HEAD for
    // its CHAR (and GEDC.VERS: 7.0 is UTF-8 only), then start over.
    std::string_view raw;
    std::string version, charset, error;
    int charset_line = 0;
    std::string_view last_top_tag;
    bool in_head = false;
    for (int n = 1; raw_line(raw); ++n) {
        Parsed p;
        if (blank(raw) || !parse(raw, p, error)) continue;
        if (p.level == 0 && in_head) break;  // HEAD is over
        in_head = true;
        if (p.level == 1) last_top_tag = p.tag;
        if (p.level == 1 && p.tag == "CHAR") {
            charset = upper_trimmed(p.value);
            charset_line = n;
        }
        if (p.level == 2 && p.tag == "VERS" && last_top_tag == "GEDC")
            version = upper_trimmed(p.value);
    }
    pos_ = 0;
    if (version.rfind("7.", 0) == 0 || charset.empty() || charset == "UTF-8" ||
        charset == "UTF8" || charset == "UNICODE")
        charset_ = Charset::Utf8;  // UNICODE without a BOM: what bytes we have
    else if (charset == "ANSEL")
        charset_ = Charset::Ansel;
    else if (charset == "ASCII" || charset == "US-ASCII")
        charset_ = Charset::Ascii;
    else if (charset == "ANSI" || charset == "WINDOWS-1252" || charset == "CP1252" ||
             charset == "ISO-8859-1" || charset == "ISO8859-1" || charset == "LATIN1")
        charset_ = Charset::Ansi;
    else
        throw NotGedcom(charset_line, "the charset " + quoted(charset) +
                                          " is not one this reader knows (UTF-8, UNICODE, "
                                          "ANSEL, ASCII, ANSI)");
}

bool Lines::raw_line(std::string_view& raw) {
    if (pos_ >= file_.size()) return false;
    bool wide = charset_ == Charset::Utf16Le || charset_ == Charset::Utf16Be;
    std::size_t unit = wide ? 2 : 1;
    auto at = [&](std::size_t k) -> unsigned {
        if (!wide) return static_cast<unsigned char>(file_[k]);
        if (k + 1 >= file_.size()) return 0xFFFF;  // half a unit: not a terminator
        unsigned a = static_cast<unsigned char>(file_[k]), b = static_cast<unsigned char>(file_[k + 1]);
        return charset_ == Charset::Utf16Le ? a | (b << 8) : (a << 8) | b;
    };
    std::size_t end = pos_;
    while (end < file_.size() && at(end) != '\r' && at(end) != '\n') end += unit;
    end = std::min(end, file_.size());
    raw = file_.substr(pos_, end - pos_);
    pos_ = end;
    // CR, LF, CR LF or LF CR end a line.
    if (pos_ < file_.size()) {
        unsigned first = at(pos_);
        pos_ += unit;
        if (pos_ < file_.size() && at(pos_) != first && (at(pos_) == '\r' || at(pos_) == '\n'))
            pos_ += unit;
    }
    return true;
}

std::string_view Lines::decode(std::string_view raw, bool& replaced) {
    replaced = false;
    if (charset_ == Charset::Utf8) {
        // Most lines are valid and go through as they are.
        std::size_t i = 0;
        char32_t c = 1;
        while (c != 0 && c != kInvalid && i < raw.size()) c = utf8_at(raw, i);
        if (c != 0 && c != kInvalid) return raw;
    }
    text_.clear();
    auto put = [&](char32_t c) {
        if (c == 0 || c == kInvalid) {
            replaced = true;
            c = kReplacement;
        }
        append_utf8(text_, c);
    };
    switch (charset_) {
        case Charset::Utf8:
            for (std::size_t i = 0; i < raw.size();) put(utf8_at(raw, i));
            break;
        case Charset::Utf16Le:
        case Charset::Utf16Be:
            for (std::size_t i = 0; i < raw.size(); i += 2) {
                if (i + 1 >= raw.size()) {
                    put(kInvalid);  // half a unit at the end of the file
                    break;
                }
                auto unit = [&](std::size_t k) -> char32_t {
                    unsigned a = static_cast<unsigned char>(raw[k]),
                             b = static_cast<unsigned char>(raw[k + 1]);
                    return charset_ == Charset::Utf16Le ? a | (b << 8) : (a << 8) | b;
                };
                char32_t c = unit(i);
                if (c >= 0xD800 && c <= 0xDBFF && i + 3 < raw.size() && unit(i + 2) >= 0xDC00 &&
                    unit(i + 2) <= 0xDFFF) {
                    c = 0x10000 + ((c - 0xD800) << 10) + (unit(i + 2) - 0xDC00);
                    i += 2;
                } else if (c >= 0xD800 && c <= 0xDFFF) {
                    c = kInvalid;  // half a pair
                }
                put(c);
            }
            break;
        case Charset::Ansel: {
            // Marks come before their letter in ANSEL, after it in Unicode.
            std::u32string marks;
            for (unsigned char b : raw) {
                if (b >= 0xE0 && b <= 0xFE && kAnselCombining[b - 0xE0]) {
                    marks += kAnselCombining[b - 0xE0];
                    continue;
                }
                char32_t c = b < 0x80                                       ? b
                             : b >= 0xA0 && b <= 0xCF && kAnselSpacing[b - 0xA0] ? kAnselSpacing[b - 0xA0]
                                                                              : kInvalid;
                put(c);
                for (char32_t m : marks) put(m);
                marks.clear();
            }
            for (char32_t m : marks) put(m);
            break;
        }
        case Charset::Ascii:
            for (unsigned char b : raw) put(b < 0x80 ? b : kInvalid);
            break;
        case Charset::Ansi:
            for (unsigned char b : raw) {
                char32_t c = b < 0x80 || b >= 0xA0 ? b : kWindows1252[b - 0x80];
                put(c ? c : kInvalid);
            }
            break;
    }
    return text_;
}

bool Lines::next(Line& line) {
    std::string_view raw;
    while (raw_line(raw)) {
        ++number_;
        bool replaced = false;
        std::string_view text = decode(raw, replaced);
        if (blank(text)) continue;
        Parsed p;
        std::string error;
        if (!parse(text, p, error)) throw NotGedcom(number_, error);
        if (level_ < 0 && (p.level != 0 || p.tag != "HEAD"))
            throw NotGedcom(number_, "a GEDCOM file begins with \"0 HEAD\", not " + quoted(text));
        if (p.level > level_ + 1)
            throw NotGedcom(number_, "level " + std::to_string(p.level) + " after level " +
                                         std::to_string(level_) +
                                         ": a level is at most one more than the line's before");
        level_ = p.level;
        line = Line{number_, p.level, p.xref, p.tag, p.value, replaced};
        return true;
    }
    if (level_ < 0) throw NotGedcom(std::max(number_, 1), "the file has no line: not GEDCOM");
    return false;
}

}  // namespace family::gedcom
