// What clients send, checked before anything else runs: a request body is a
// JSON object of known fields with values of the right type and range; a
// path or query number is a positive integer. Bad input is a Problem (400 for
// what cannot be read, 422 for what reads but is not allowed), never a 500.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "problem.hpp"

namespace family::web {

class Body {
  public:
    // 400 when the text is not JSON or not an object; 422 for an unknown field.
    Body(const std::string& text, std::initializer_list<std::string_view> fields);

    bool has(const char* name) const { return json_.contains(name); }
    bool is_null(const char* name) const { return has(name) && json_.at(name).is_null(); }

    // Each getter: nullopt when the field is absent; 422 when it is present
    // but null, of the wrong type or out of range.
    std::optional<std::int64_t> id(const char* name) const;  // 1..2^63-1
    std::optional<int> rank(const char* name) const;         // 1..5
    std::optional<std::string> text(const char* name, std::size_t max_chars) const;
    std::optional<bool> flag(const char* name) const;
    // "M", "F" or "X".
    std::optional<std::string> sex(const char* name) const;
    // A GEDCOM date (the extension's grammar: 12 MAR 1850, ABT 1850, ...).
    std::optional<std::string> date(const char* name) const;
    // A nested object of known fields (422 when it is not an object).
    std::optional<Body> object(const char* name,
                               std::initializer_list<std::string_view> fields) const;

    // The same, with a missing field a 422 too.
    template <typename T>
    static T required(std::optional<T> value, const char* name) {
        if (!value) throw missing(name);
        return *value;
    }

  private:
    struct Parsed {};
    Body(Parsed, nlohmann::json object, std::initializer_list<std::string_view> fields);
    static Problem missing(const char* name);
    const nlohmann::json* field(const char* name) const;
    nlohmann::json json_;
};

// A query value as sent (Pistache keeps %XX and '+' as they came): nullopt
// for a '%' not followed by two hex digits, or a NUL.
std::optional<std::string> percent_decode(std::string_view text);
// The other way, for a URL this service writes (Link): all but A-Z a-z 0-9 -._~.
std::string percent_encode(std::string_view text);

// A page of a list (SPEC 7a): ?limit= and ?cursor=. A cursor is opaque to
// clients; here it is base64url (no padding) of one letter naming the list's
// kind and the fields of the last item's position, separated by U+001F
// (which no stored text holds).
struct PageQuery {
    static constexpr int kDefault = 100, kMost = 1000;
    int limit = kDefault;
    std::vector<std::string> after;  // empty: the first page

    // 422 for a limit other than 1..1000, or a cursor that is not of `kind`
    // with `fields` fields.
    PageQuery(const std::optional<std::string>& limit, const std::optional<std::string>& cursor,
              char kind, std::size_t fields);
    // Field i of the cursor as a number of min..2^63-1 (422 otherwise).
    std::int64_t number(std::size_t i, std::int64_t min = 1) const;
};
std::string make_cursor(char kind, const std::vector<std::string>& fields);

// A positive integer written in decimal (a path id, ?depth=): nullopt for
// anything else, including values beyond 2^63-1.
std::optional<std::int64_t> positive_integer(std::string_view text);

}  // namespace family::web
