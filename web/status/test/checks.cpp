// What counts as failing, service by service.
#include <boost/test/unit_test.hpp>

#include "checks.hpp"

using namespace family::status;

namespace {

std::optional<std::string> n() {
    return std::nullopt;
}
std::optional<std::string> s(const char* v) {
    return std::string(v);
}

// What a verdict says: "pass: detail" or "fail: error".
template <typename F>
std::string verdict(F f) {
    try {
        return "pass: " + f();
    } catch (const std::runtime_error& e) {
        return std::string("fail: ") + e.what();
    }
}

// A row of status.cron_last_run() as kCronSql reads it.
Rows cron(std::optional<std::string> installed, std::optional<std::string> job,
          std::optional<std::string> active, std::optional<std::string> status,
          std::optional<std::string> message = std::nullopt) {
    return {{installed, job, active, job ? s("*/15 * * * *") : n(), status, message,
             status ? s("2026-11-23T17:15:00Z") : n()}};
}

// A row of family.check_run as kCheckSql reads it.
Rows run(const char* status, const char* findings,
         std::optional<std::string> error = std::nullopt) {
    return {{s("42"), s(status), s(findings), s("1000"), error, s("2026-11-23T17:15:03Z")}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(postgresql_answers_its_version) {
    BOOST_TEST(verdict([] { return postgres_verdict({{s("15.4")}}); }) == "pass: PostgreSQL 15.4");
    BOOST_TEST(verdict([] { return postgres_verdict({}); }) == "fail: expected one row, got 0");
}

BOOST_AUTO_TEST_CASE(cron_rules) {
    BOOST_TEST(verdict([] { return cron_verdict(cron(s("f"), n(), n(), n())); }) ==
               "fail: pg_cron is not installed in the database");
    BOOST_TEST(verdict([] { return cron_verdict(cron(s("t"), n(), n(), n())); }) ==
               "fail: no pg_cron job 'family consistency check' in the database: "
               "SELECT family.schedule_consistency_check()");
    BOOST_TEST(verdict([] { return cron_verdict(cron(s("t"), s("7"), s("f"), s("succeeded"))); }) ==
               "fail: the pg_cron job 'family consistency check' (id 7) is inactive");
    BOOST_TEST(verdict([] { return cron_verdict(cron(s("t"), s("7"), s("t"), n())); }) ==
               "pass: job 7 (*/15 * * * *) has not run yet");
    BOOST_TEST(verdict([] {
                   return cron_verdict(cron(s("t"), s("7"), s("t"), s("failed"),
                                            s("ERROR:  consistency check run 9 failed\n")));
               }) ==
               "fail: the last run of job 7 (started 2026-11-23T17:15:00Z) failed: "
               "ERROR: consistency check run 9 failed");
    BOOST_TEST(verdict([] { return cron_verdict(cron(s("t"), s("7"), s("t"), s("failed"))); }) ==
               "fail: the last run of job 7 (started 2026-11-23T17:15:00Z) failed: ");
    BOOST_TEST(verdict([] { return cron_verdict(cron(s("t"), s("7"), s("t"), s("succeeded"))); }) ==
               "pass: job 7 (*/15 * * * *): last run started 2026-11-23T17:15:00Z succeeded");
    BOOST_TEST(verdict([] { return cron_verdict({}); }) == "fail: expected one row, got 0");
}

BOOST_AUTO_TEST_CASE(check_rules) {
    BOOST_TEST(verdict([] { return check_verdict({}); }) ==
               "pass: no consistency check has run yet");
    BOOST_TEST(verdict([] { return check_verdict(run("clean", "0")); }) ==
               "pass: run 42 clean (1000 persons checked, 0 findings, finished "
               "2026-11-23T17:15:03Z)");
    BOOST_TEST(verdict([] { return check_verdict(run("findings", "3")); }) ==
               "fail: run 42 has findings (1000 persons checked, 3 findings, finished "
               "2026-11-23T17:15:03Z): SELECT * FROM family.check_finding WHERE run_id = 42");
    BOOST_TEST(
        verdict([] { return check_verdict(run("failed", "0", s("worker 0: boom\nat x"))); }) ==
        "fail: run 42 failed: worker 0: boom at x (1000 persons checked, 0 findings, "
        "finished 2026-11-23T17:15:03Z)");
    // A failed run with findings says it failed; one without an error too.
    BOOST_TEST(verdict([] {
                   return check_verdict(run("failed", "2"));
               }).rfind("fail: run 42 failed:  (1000 persons checked, 2 findings", 0) == 0u);
    BOOST_TEST(verdict([] {
                   return check_verdict({Row(6), Row(6)});
               }) == "fail: expected one row, got 2");
}

BOOST_AUTO_TEST_CASE(http_wants_200) {
    BOOST_TEST(verdict([] { return http_verdict("http://x/readyz", 200, "{}"); }) ==
               "pass: HTTP 200");
    BOOST_TEST(
        verdict([] {
            return http_verdict("http://x/readyz", 503, "{\"status\":\"fail\",\n \"checks\":{}}");
        }) == "fail: GET http://x/readyz answered 503: {\"status\":\"fail\", \"checks\":{}}");
    BOOST_TEST(verdict([] { return http_verdict("http://x/", 301, ""); }) ==
               "fail: GET http://x/ answered 301");
    std::string big =
        verdict([] { return http_verdict("http://x/", 500, std::string(5000, 'a')); });
    BOOST_TEST(big.size() < 400u);
}

BOOST_AUTO_TEST_CASE(smtp_replies_end_with_their_last_line) {
    BOOST_TEST(!complete_reply(""));
    BOOST_TEST(!complete_reply("220 mail ready"));  // no end of line yet
    BOOST_TEST(*complete_reply("220 mail ready\r\n") == "220 mail ready\r\n");
    BOOST_TEST(!complete_reply("220-mail\r\n220-ready"));
    BOOST_TEST(*complete_reply("220-mail\r\n220 ready\r\nextra") == "220-mail\r\n220 ready\r\n");
    BOOST_TEST(*complete_reply("220\n") == "220\n");
    BOOST_TEST(*complete_reply("x\n") == "x\n");  // not SMTP: over, and the verdict says so
}

BOOST_AUTO_TEST_CASE(smtp_wants_220) {
    BOOST_TEST(verdict([] { return smtp_verdict("220 mail ESMTP ready\r\n"); }) ==
               "pass: 220 mail ESMTP ready");
    BOOST_TEST(verdict([] { return smtp_verdict("220-mail\r\n220 ready\r\n"); }) ==
               "pass: 220-mail 220 ready");
    BOOST_TEST(verdict([] { return smtp_verdict("554 go away\r\n"); }) ==
               "fail: unexpected greeting: 554 go away");
    BOOST_TEST(verdict([] { return smtp_verdict("HTTP/1.1 400 Bad Request\r\n"); }) ==
               "fail: unexpected greeting: HTTP/1.1 400 Bad Request");
}
