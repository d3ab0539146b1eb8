#include "input.hpp"

#include <algorithm>
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
