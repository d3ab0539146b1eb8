#include "checks.hpp"

#include <stdexcept>

#include "render.hpp"

namespace family::status {

const char kCronJob[] = "family consistency check";

const char kPostgresSql[] = "SELECT current_setting('server_version')";

#define FAMILY_UTC(column) \
    "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

const char kCronSql[] =
    "SELECT pg_cron, job_id, active, schedule, run_status, return_message, " FAMILY_UTC(
        "start_time") " FROM status.cron_last_run()";

const char kCheckSql[] = "SELECT id, status, findings, persons_checked, error, " FAMILY_UTC(
    "finished_at") " FROM family.check_run WHERE status <> 'running' ORDER BY id DESC LIMIT 1";

#undef FAMILY_UTC

namespace {

std::string text(const Row& row, std::size_t i) {
    return row.at(i).value_or("");
}

const Row& only_row(const Rows& rows) {
    if (rows.size() != 1)
        throw std::runtime_error("expected one row, got " + std::to_string(rows.size()));
    return rows[0];
}

}  // namespace

std::string postgres_verdict(const Rows& rows) {
    return "PostgreSQL " + text(only_row(rows), 0);
}

std::string cron_verdict(const Rows& rows) {
    const Row& r = only_row(rows);
    std::string job = std::string("'") + kCronJob + "'";
    if (text(r, 0) != "t") throw std::runtime_error("pg_cron is not installed in the database");
    if (!r.at(1))
        throw std::runtime_error("no pg_cron job " + job +
                                 " in the database: SELECT family.schedule_consistency_check()");
    if (text(r, 2) != "t")
        throw std::runtime_error("the pg_cron job " + job + " (id " + text(r, 1) + ") is inactive");
    if (!r.at(4)) return "job " + text(r, 1) + " (" + text(r, 3) + ") has not run yet";
    if (text(r, 4) == "failed")
        throw std::runtime_error("the last run of job " + text(r, 1) + " (started " + text(r, 6) +
                                 ") failed: " + printable(text(r, 5)));
    return "job " + text(r, 1) + " (" + text(r, 3) + "): last run started " + text(r, 6) + " " +
           text(r, 4);
}

std::string check_verdict(const Rows& rows) {
    if (rows.empty()) return "no consistency check has run yet";
    const Row& r = only_row(rows);
    std::string run = "run " + text(r, 0), counts = text(r, 3) + " persons checked, " + text(r, 2) +
                                                    " findings, finished " + text(r, 5);
    if (text(r, 1) == "failed")
        throw std::runtime_error(run + " failed: " + printable(text(r, 4)) + " (" + counts + ")");
    if (text(r, 2) != "0")
        throw std::runtime_error(
            run + " has findings (" + counts +
            "): SELECT * FROM family.check_finding WHERE run_id = " + text(r, 0));
    return run + " " + text(r, 1) + " (" + counts + ")";
}

std::string http_verdict(const std::string& url, long status, const std::string& body) {
    if (status != 200) {
        std::string shown = printable(body, 300);
        throw std::runtime_error("GET " + url + " answered " + std::to_string(status) +
                                 (shown.empty() ? "" : ": " + shown));
    }
    return "HTTP 200";
}

std::optional<std::string> complete_reply(const std::string& received) {
    // The last line of a reply is "NNN text" or "NNN"; earlier ones "NNN-text".
    std::size_t start = 0;
    for (std::size_t end; (end = received.find('\n', start)) != std::string::npos;
         start = end + 1) {
        std::string line = received.substr(start, end - start);
        if (line.size() < 4 || line[3] != '-') return received.substr(0, end + 1);
    }
    return std::nullopt;
}

std::string smtp_verdict(const std::string& reply) {
    std::string shown = printable(reply, 300);
    if (reply.rfind("220", 0) != 0) throw std::runtime_error("unexpected greeting: " + shown);
    return shown;
}

}  // namespace family::status
