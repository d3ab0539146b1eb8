#include "input.hpp"

#include "gedcom_date.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>

namespace family::web {

namespace {

std::string list(std::initializer_list<std::string_view> fields) {
    std::string out;
    for (std::string_view f : fields) out += (out.empty() ? "" : ", ") + std::string(f);
    return out;
}

// Code points of valid UTF-8 (the JSON parser has checked it).
std::size_t characters(const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// The rule of the database's family.printable(): no control character (C0,
// DEL, C1), no U+2028/U+2029, no bidirectional embedding, override or
// isolate. `s` is valid UTF-8 (the JSON parser has checked it).
bool printable(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        unsigned char lead = static_cast<unsigned char>(s[i]);
        std::size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        char32_t cp = n == 1 ? lead : lead & (0x7F >> n);
        for (std::size_t k = 1; k < n; ++k)
            cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        i += n;
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
            (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
            return false;
    }
    return true;
}

}  // namespace

Body::Body(const std::string& text, std::initializer_list<std::string_view> fields) {
    nlohmann::json parsed;
    try {
        parsed = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        throw malformed("The body is not valid JSON (UTF-8, one value).");
    }
    if (!parsed.is_object()) throw malformed("The body must be a JSON object.");
    *this = Body(Parsed{}, std::move(parsed), fields);
}

Body::Body(Parsed, nlohmann::json object, std::initializer_list<std::string_view> fields)
    : json_(std::move(object)) {
    for (const auto& item : json_.items())
        if (std::find(fields.begin(), fields.end(), item.key()) == fields.end())
            throw invalid("Unknown field \"" + item.key() + "\"; the fields are: " + list(fields) +
                          ".");
}

Problem Body::missing(const char* name) {
    return invalid("The field \"" + std::string(name) + "\" is required.");
}

const nlohmann::json* Body::field(const char* name) const {
    auto it = json_.find(name);
    if (it == json_.end()) return nullptr;
    if (it->is_null()) throw invalid("The field \"" + std::string(name) + "\" cannot be null.");
    return &*it;
}

std::optional<std::int64_t> Body::id(const char* name) const {
    const nlohmann::json* v = field(name);
    if (!v) return std::nullopt;
    // Unsigned JSON numbers above 2^63-1 do not fit a bigint.
    if (v->is_number_unsigned() &&
        v->get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<std::int64_t>::max()) &&
        v->get<std::int64_t>() > 0)
        return v->get<std::int64_t>();
    throw invalid("The field \"" + std::string(name) +
                  "\" must be a person id (a positive integer).");
}

std::optional<int> Body::rank(const char* name) const {
    const nlohmann::json* v = field(name);
    if (!v) return std::nullopt;
    if (v->is_number_integer() && v->get<std::int64_t>() >= 1 && v->get<std::int64_t>() <= 5)
        return static_cast<int>(v->get<std::int64_t>());
    throw invalid("The field \"" + std::string(name) + "\" must be an integer from 1 to 5.");
}

std::optional<std::string> Body::text(const char* name, std::size_t max_chars) const {
    const nlohmann::json* v = field(name);
    if (!v) return std::nullopt;
    if (!v->is_string()) throw invalid("The field \"" + std::string(name) + "\" must be a string.");
    const std::string& s = v->get_ref<const std::string&>();
    if (characters(s) > max_chars)
        throw invalid("The field \"" + std::string(name) + "\" is longer than " +
                      std::to_string(max_chars) + " characters.");
    // NUL cannot be stored, and text is to show (printable()).
    if (!printable(s))
        throw invalid("The field \"" + std::string(name) +
                      "\" contains a control, line-separator or bidirectional formatting "
                      "character.");
    return s;
}

std::optional<std::string> Body::sex(const char* name) const {
    const nlohmann::json* v = field(name);
    if (!v) return std::nullopt;
    if (v->is_string()) {
        const std::string& s = v->get_ref<const std::string&>();
        if (s == "M" || s == "F" || s == "X") return s;
    }
    throw invalid("The field \"" + std::string(name) + "\" must be \"M\", \"F\" or \"X\".");
}

std::optional<std::string> Body::date(const char* name) const {
    std::optional<std::string> s = text(name, 200);
    if (!s) return std::nullopt;
    if (std::optional<std::string> why = gedcom::date_error(*s))
        throw invalid("The field \"" + std::string(name) + "\" is not a GEDCOM date (" + *why +
                      "); write it as 12 MAR 1850, MAR 1850, 1850, ABT 1850, BEF 1850, "
                      "BET 1800 AND 1810 or FROM 1900 TO 1910.");
    return s;
}

std::optional<bool> Body::flag(const char* name) const {
    const nlohmann::json* v = field(name);
    if (!v) return std::nullopt;
    if (!v->is_boolean())
        throw invalid("The field \"" + std::string(name) + "\" must be true or false.");
    return v->get<bool>();
}

std::optional<Body> Body::object(const char* name,
                                 std::initializer_list<std::string_view> fields) const {
    const nlohmann::json* v = field(name);
    if (!v) return std::nullopt;
    if (!v->is_object())
        throw invalid("The field \"" + std::string(name) + "\" must be an object.");
    return Body(Parsed{}, *v, fields);
}

std::optional<std::string> percent_decode(std::string_view text) {
    auto hex = [](char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
    };
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0') return std::nullopt;
        out += c;
    }
    return out;
}

std::string percent_encode(std::string_view text) {
    static const char digits[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        unsigned char u = static_cast<unsigned char>(c);
        if (std::isalnum(u) && u < 0x80)
            out += c;
        else if (c == '-' || c == '.' || c == '_' || c == '~')
            out += c;
        else
            out += {'%', digits[u >> 4], digits[u & 15]};
    }
    return out;
}

namespace {

constexpr char kBase64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kSeparator = '\x1f';

Problem bad_cursor() {
    return invalid(
        "cursor is not one this list gave (take it from \"next\", or leave it out "
        "for the first page).");
}

}  // namespace

std::string make_cursor(char kind, const std::vector<std::string>& fields) {
    std::string raw(1, kind);
    for (const std::string& f : fields) raw += kSeparator + f;
    std::string out;
    std::uint32_t bits = 0;
    int n = 0;
    for (unsigned char c : raw) {
        bits = bits << 8 | c;
        n += 8;
        while (n >= 6) out += kBase64url[(bits >> (n -= 6)) & 63];
    }
    if (n > 0) out += kBase64url[(bits << (6 - n)) & 63];
    return out;
}

PageQuery::PageQuery(const std::optional<std::string>& limit_text,
                     const std::optional<std::string>& cursor, char kind, std::size_t fields) {
    if (limit_text) {
        std::optional<std::int64_t> n = positive_integer(*limit_text);
        if (!n || *n > kMost)
            throw invalid("limit must be an integer from 1 to " + std::to_string(kMost) + ".");
        limit = static_cast<int>(*n);
    }
    if (!cursor) return;
    // At most what one position can hold (two names of 200 characters, of up
    // to 4 bytes each, and numbers: 1,700 bytes, 2,267 in base64).
    if (cursor->empty() || cursor->size() > 2400) throw bad_cursor();
    std::string raw;
    std::uint32_t bits = 0;
    int n = 0;
    for (char c : *cursor) {
        const char* at = std::strchr(kBase64url, c);
        if (!at || c == '\0') throw bad_cursor();
        bits = bits << 6 | static_cast<std::uint32_t>(at - kBase64url);
        n += 6;
        if (n >= 8) raw += static_cast<char>((bits >> (n -= 8)) & 0xFF);
    }
    // What is left over is the padding of the last byte: fewer than 6 bits, all 0.
    if (n >= 6 || (bits & ((1u << n) - 1)) != 0) throw bad_cursor();
    // kind, then each field after a separator
    if (raw.size() < 2 || raw[0] != kind || raw[1] != kSeparator) throw bad_cursor();
    for (std::size_t start = 2;;) {
        std::size_t end = raw.find(kSeparator, start);
        after.push_back(raw.substr(start, end == std::string::npos ? end : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    if (after.size() != fields) throw bad_cursor();
}

std::int64_t PageQuery::number(std::size_t i, std::int64_t min) const {
    const std::string& f = after.at(i);
    if (min == 0 && f == "0") return 0;
    std::optional<std::int64_t> n = positive_integer(f);
    if (!n || *n < min) throw bad_cursor();
    return *n;
}

std::optional<std::int64_t> positive_integer(std::string_view text) {
    if (text.empty() || text.size() > 19) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n == 0 || n > std::uint64_t(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(n);
}

}  // namespace family::web
