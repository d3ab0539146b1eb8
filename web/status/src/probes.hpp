// The network side of the checks, each bounded by a timeout of its own: an
// HTTP GET with libcurl, an SMTP greeting over a plain socket, a query over
// libpq's non-blocking API (so that a server that accepts and then says
// nothing cannot hold a check past its timeout). And the six checks.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "checks.hpp"
#include "config.hpp"
#include "runner.hpp"

namespace family::status {

// GET `url`; the http_verdict of what came back. Call curl_global_init first.
std::string http_probe(const std::string& url, std::chrono::milliseconds timeout);

// Connects, reads the greeting, says QUIT; the smtp_verdict of the greeting.
std::string smtp_probe(const std::string& host, std::uint16_t port,
                       std::chrono::milliseconds timeout);

// `sql` on a new connection to `dsn`; the rows of its last statement.
Rows pg_query(const std::string& dsn, const std::string& sql, std::chrono::milliseconds timeout);

// postgresql, web, nginx, smtp, cron, check: in the order the page lists them.
std::vector<Check> all_checks(const Config& config);

}  // namespace family::status
