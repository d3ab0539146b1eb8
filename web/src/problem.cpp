#include "problem.hpp"

#include <nlohmann/json.hpp>

namespace family::web {

Problem malformed(const std::string& detail) { return {400, "Bad Request", detail}; }
Problem unauthenticated() {
    return {401, "Unauthorized", "Send a valid token: Authorization: Bearer <token>."};
}
Problem forbidden(const std::string& detail) { return {403, "Forbidden", detail}; }
Problem not_found(const std::string& detail) { return {404, "Not Found", detail}; }
Problem invalid(const std::string& detail) { return {422, "Unprocessable Content", detail}; }
Problem unavailable(const std::string& detail) {
    Problem p{503, "Service Unavailable", detail};
    p.retry_after = 1;
    return p;
}

Problem from_sqlstate(const std::string& s) {
    if (s == "FA001")
        return {409, "Conflict", "The change would make a person their own ancestor."};
    if (s == "FA003") return {409, "Conflict", "A person is already in a current relationship."};
    if (s == "23505") return {409, "Conflict", "That value is already taken."};
    if (s == "FA002") return invalid("The father and the mother are not, and were never, a couple.");
    if (s == "23503") return invalid("A person the request refers to does not exist.");
    if (s == "428C9") return invalid("Derived values cannot be set.");
    // Check violations, bad arguments, out-of-range numbers.
    if (s == "23514" || s == "22023" || s == "23502" || s == "22003")
        return invalid("A value is out of range or inconsistent with the others.");
    // Lost races that outlived the retries, and a database that is away.
    // 57014: a statement cancelled (statement_timeout, a DBA, our own
    // shutdown); 55P03: a lock not granted within lock_timeout.
    if (s == "40001" || s == "40P01" || s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" ||
        s == "57P03" || s == "53300" || s == "57014" || s == "55P03")
        return unavailable("The database is busy or unavailable; retry.");
    return {500, "Internal Server Error", "The request failed; the service's log says why."};
}

std::string problem_json(const Problem& p) {
    return nlohmann::ordered_json{{"type", "about:blank"},
                          {"title", p.title},
                          {"status", p.status},
                          {"detail", p.detail}}
        .dump();
}

}  // namespace family::web
