// The statements the service runs, each a named object beside the code that
// uses it (api_*.cpp): a misspelt statement is a compile error, not a
// runtime one, and every connection of the pool prepares them all. An empty
// std::optional argument is SQL NULL (libpqxx's own conversion).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace family::web {

class Statement {
  public:
    // Statements are made at namespace scope, before main(): they register
    // themselves for the pool to prepare.
    Statement(const char* name, const char* sql);
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    template <typename... Args>
    pqxx::result operator()(pqxx::work& t, const Args&... args) const {
        return t.exec_prepared(name_, args...);
    }
    // Exactly one row, or pqxx::unexpected_rows.
    template <typename... Args>
    pqxx::row one(pqxx::work& t, const Args&... args) const {
        return t.exec_prepared1(name_, args...);
    }
    const char* name() const { return name_; }
    const char* sql() const { return sql_; }

    // Every statement of the program, in no particular order.
    static const std::vector<const Statement*>& all();

  private:
    const char* name_;
    const char* sql_;
};

// A comma-separated list of ids (string_agg) as numbers.
std::vector<std::int64_t> id_list(const std::string& csv);

}  // namespace family::web
