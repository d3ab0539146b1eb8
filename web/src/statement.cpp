#include "statement.hpp"

namespace family::web {

namespace {

// Filled while namespace-scope objects are made: constructed on first use,
// whichever file's statements come first.
std::vector<const Statement*>& registry() {
    static std::vector<const Statement*> statements;
    return statements;
}

}  // namespace

Statement::Statement(const char* name, const char* sql) : name_(name), sql_(sql) {
    registry().push_back(this);
}

const std::vector<const Statement*>& Statement::all() {
    return registry();
}

std::vector<std::int64_t> id_list(const std::string& csv) {
    std::vector<std::int64_t> ids;
    std::size_t start = 0;
    while (start < csv.size()) {
        std::size_t end = csv.find(',', start);
        if (end == std::string::npos) end = csv.size();
        ids.push_back(std::stoll(csv.substr(start, end - start)));
        start = end + 1;
    }
    return ids;
}

}  // namespace family::web
