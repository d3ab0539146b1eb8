// How the status service shows what it knows: /status/ as JSON or as an HTML
// page, health and problem documents, and the text helpers they share.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "board.hpp"

namespace family::status {

// 2026-11-23T17:30:01.123Z
std::string iso8601(Time t);

// Text from outside (an error, a server's answer) made fit to show: control
// characters and runs of white space become one space, and it is cut to at
// most `max_bytes` (on a UTF-8 character boundary, marked with "...").
std::string printable(std::string_view text, std::size_t max_bytes = 500);

// & < > " ' as entities.
std::string html_escape(std::string_view text);

// Whether a client with this Accept header gets the HTML page: text/html
// (or application/xhtml+xml) is acceptable and ranks above JSON. Browsers
// ask so; no header, */* or a tie give JSON.
bool wants_html(std::string_view accept);

// GET /status/ (see web/status/README.md for the fields).
// What anyone may see: each service's state and since when, without its
// detail, and with a plain word in place of its error.
Snapshot without_details(Snapshot s);

std::string status_json(const Snapshot& s, std::chrono::milliseconds interval);
std::string status_html(const Snapshot& s, std::chrono::milliseconds interval);

// application/health+json of the status service itself.
std::string health_json(bool pass, const std::string& output);

// RFC 9457 application/problem+json.
std::string problem_json(int status, const std::string& title, const std::string& detail);

}  // namespace family::status
