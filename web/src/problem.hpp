// One error type for the whole service: every handler's failure ends as a
// Problem, and http.cpp turns it into an RFC 9457 application/problem+json
// response. Nothing else reaches the client, so no internal text leaks.
#pragma once

#include <stdexcept>
#include <string>

namespace family::web {

class Problem : public std::runtime_error {
  public:
    Problem(int status, std::string title, std::string detail)
        : std::runtime_error(title), status(status), title(std::move(title)),
          detail(std::move(detail)) {}
    int status;
    std::string title, detail;
    int retry_after = 0;  // seconds, for 429 and 503; 0 = no header
};

// The problems every route can raise.
Problem malformed(const std::string& detail);     // 400
Problem unauthenticated();                        // 401
Problem forbidden(const std::string& detail);     // 403
Problem not_found(const std::string& detail);     // 404
Problem invalid(const std::string& detail);       // 422
Problem unavailable(const std::string& detail);   // 503, retry in 1 s

// The one mapping from a database error (SQLSTATE) to what a client sees.
// The detail is ours: the database's own message stays in the service's log.
Problem from_sqlstate(const std::string& sqlstate);

// The response body: {type, title, status, detail}.
std::string problem_json(const Problem& p);

}  // namespace family::web
