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

// A positive integer written in decimal (a path id, ?depth=): nullopt for
// anything else, including values beyond 2^63-1.
std::optional<std::int64_t> positive_integer(std::string_view text);

}  // namespace family::web
