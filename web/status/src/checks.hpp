// What counts as failing, service by service: pure rules over what a probe
// saw (an HTTP status, an SMTP greeting, rows of SQL). Each returns the
// detail of a pass and throws std::runtime_error with the error of a failure.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace family::status {

// Rows of text as libpq gives them; nullopt is NULL.
using Row = std::vector<std::optional<std::string>>;
using Rows = std::vector<Row>;

// The pg_cron job that family.schedule_consistency_check() registers.
extern const char kCronJob[];

// What each SQL check asks (after SET statement_timeout, on its own
// connection, as role family_status: see sql/status.sql).
extern const char kPostgresSql[];
extern const char kCronSql[];
extern const char kCheckSql[];

// postgresql: the server answered kPostgresSql (its version).
std::string postgres_verdict(const Rows& rows);

// cron: fails when pg_cron is not installed, the job does not exist or is
// inactive, or its last finished run failed. A job that has not run yet
// passes ("not run yet"): a fresh `make run` schedules it for the next
// quarter hour, and the check's own results show up under "check".
std::string cron_verdict(const Rows& rows);

// check: fails when the last finished run of family.run_consistency_check()
// failed or has findings. No run yet passes.
std::string check_verdict(const Rows& rows);

// web, nginx: anything but a 200 fails.
std::string http_verdict(const std::string& url, long status, const std::string& body);

// An SMTP reply once its last line has arrived ("220-a\r\n220 b\r\n"),
// else nullopt.
std::optional<std::string> complete_reply(const std::string& received);
// smtp: the greeting must be 220.
std::string smtp_verdict(const std::string& reply);

}  // namespace family::status
