// The one mapping from SQLSTATEs to statuses, and the problem+json body.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "problem.hpp"

using namespace family::web;

BOOST_AUTO_TEST_CASE(sqlstates_map_to_statuses) {
    const std::pair<const char*, int> cases[] = {
        {"FA001", 409}, {"FA003", 409}, {"23505", 409}, {"FA002", 422}, {"23503", 422},
        {"428C9", 422}, {"23514", 422}, {"22023", 422}, {"23502", 422}, {"22003", 422},
        {"40001", 503}, {"40P01", 503}, {"08006", 503}, {"57P01", 503}, {"57P02", 503},
        {"57P03", 503}, {"53300", 503}, {"57014", 503}, {"55P03", 503}, {"42501", 500}, {"XX000", 500}, {"", 500}};
    for (const auto& [state, status] : cases) BOOST_TEST(from_sqlstate(state).status == status, state);
    BOOST_TEST(from_sqlstate("40001").retry_after == 1);
}

BOOST_AUTO_TEST_CASE(problem_bodies) {
    auto j = nlohmann::json::parse(problem_json(not_found("No person 5.")));
    BOOST_TEST(j["status"] == 404);
    BOOST_TEST(j["title"] == "Not Found");
    BOOST_TEST(j["detail"] == "No person 5.");
    BOOST_TEST(j["type"] == "about:blank");
    BOOST_TEST(malformed("x").status == 400);
    BOOST_TEST(unauthenticated().status == 401);
    BOOST_TEST(forbidden("x").status == 403);
    BOOST_TEST(invalid("x").status == 422);
    BOOST_TEST(unavailable("x").status == 503);
    BOOST_TEST(std::string(invalid("x").what()) == "Unprocessable Content");
}
