#include "render.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.hpp"

namespace family::status {

namespace {

using json = nlohmann::ordered_json;

// Invalid UTF-8 (a server's garbled answer) becomes U+FFFD instead of an
// exception from dump().
std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json time_or_null(const std::optional<Time>& t) {
    return t ? json(iso8601(*t)) : json();
}

json interval_json(std::chrono::milliseconds interval) {
    if (interval.count() % 1000 == 0) return interval.count() / 1000;
    return interval.count() / 1000.0;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

struct Range {
    std::string type, subtype;
    double q = 1;
};

std::vector<Range> media_ranges(std::string_view accept) {
    std::vector<Range> out;
    while (!accept.empty()) {
        std::size_t comma = accept.find(',');
        std::string_view item = accept.substr(0, comma);
        accept = comma == std::string_view::npos ? "" : accept.substr(comma + 1);
        std::size_t semi = item.find(';');
        std::string range = lower(trim(item.substr(0, semi)));
        std::size_t slash = range.find('/');
        if (slash == std::string::npos) continue;
        Range r{range.substr(0, slash), range.substr(slash + 1)};
        while (semi != std::string_view::npos) {
            item = item.substr(semi + 1);
            semi = item.find(';');
            std::string param = lower(trim(item.substr(0, semi)));
            if (param.rfind("q=", 0) == 0)
                r.q = std::clamp(std::strtod(param.c_str() + 2, nullptr), 0.0, 1.0);
        }
        out.push_back(r);
    }
    return out;
}

// The q a client gives a media type: that of its most specific range.
double quality(const std::vector<Range>& ranges, const std::string& type,
               const std::string& subtype) {
    int best = -1;
    double q = 0;
    for (const Range& r : ranges) {
        int level = r.type == type && r.subtype == subtype ? 2
                    : r.type == type && r.subtype == "*"   ? 1
                    : r.type == "*" && r.subtype == "*"    ? 0
                                                           : -1;
        if (level > best) {
            best = level;
            q = r.q;
        }
    }
    return q;
}

void row(std::string& out, const std::vector<std::string>& cells) {
    out += "<tr>";
    for (const std::string& c : cells) out += c;
    out += "</tr>\n";
}

// Machine-readable in the attribute, to the second for a reader.
std::string time_html(Time t) {
    std::string iso = iso8601(t);
    return "<time datetime=\"" + iso + "\">" + iso.substr(0, 10) + " " + iso.substr(11, 8) +
           " UTC</time>";
}

const char kStyle[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;"
    "max-width:64em;margin:2em auto;padding:0 1em}"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}"
    ".summary{font-size:1.25em;font-weight:600;padding:.5em .8em;border-radius:4px}"
    ".summary.fail{background:#fde7ea;color:#b00020}.summary.pass{background:#e6f4ea;color:#1b7a34}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;vertical-align:top;padding:.35em .7em;border-bottom:1px solid #ddd}"
    "td.service.fail{color:#b00020;font-weight:700;font-size:1.15em}"
    "td.service.pass{color:#1b7a34;font-weight:600}"
    "td.text{white-space:pre-wrap;word-break:break-word;"
    "font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}"
    "time{white-space:nowrap}.muted{color:#666}";

}  // namespace

std::string iso8601(Time t) {
    auto since_epoch = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch());
    auto whole = std::chrono::floor<std::chrono::seconds>(since_epoch);
    std::time_t seconds = whole.count();
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char out[40];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(out + 19, sizeof out - 19, ".%03dZ",
                  static_cast<int>((since_epoch - whole).count()));
    return out;
}

std::string printable(std::string_view text, std::size_t max_bytes) {
    std::string out;
    for (char c : text) {
        bool space = static_cast<unsigned char>(c) < 0x20 || c == ' ' || c == 0x7f;
        if (!space)
            out += c;
        else if (!out.empty() && out.back() != ' ')
            out += ' ';
    }
    if (!out.empty() && out.back() == ' ') out.pop_back();
    if (out.size() > max_bytes) {
        std::size_t cut = max_bytes;
        // Back to the first byte of a UTF-8 character (not 10xxxxxx).
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
        out.resize(cut);
        out += "...";
    }
    return out;
}

std::string html_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

bool wants_html(std::string_view accept) {
    std::vector<Range> ranges = media_ranges(accept);
    double html =
        std::max(quality(ranges, "text", "html"), quality(ranges, "application", "xhtml+xml"));
    return html > 0 && html > quality(ranges, "application", "json");
}

namespace {

enum class State { failing, starting, passing };

State state(const ServiceState& x) {
    return x.pass ? State::passing : x.starting ? State::starting : State::failing;
}

// The page's table of the services in one state (none: no table). The
// third column, the error or detail, is left out when no row has one (the
// public view).
void section(std::string& out, const std::vector<ServiceState>& services, State which,
             const char* title, const char* since, const char* text) {
    static const char* const kClass[] = {"failing", "starting", "passing"};
    static const char* const kCell[] = {" fail", "", " pass"};
    std::vector<const ServiceState*> shown;
    bool texts = false;
    for (const ServiceState& x : services)
        if (state(x) == which) {
            shown.push_back(&x);
            texts = texts || !(x.pass ? x.detail : x.error).empty();
        }
    if (shown.empty()) return;
    out += std::string("<h2>") + title + "</h2>\n<table class=\"" + kClass[int(which)] + "\">\n";
    std::vector<std::string> head = {"<th>service</th>", std::string("<th>") + since + "</th>"};
    if (texts) head.push_back(std::string("<th>") + text + "</th>");
    row(out, head);
    for (const ServiceState* x : shown) {
        std::vector<std::string> cells = {
            "<td class=\"service" + std::string(kCell[int(which)]) + "\">" +
                html_escape(x->service) + "</td>",
            "<td>" + time_html(x->since) + "</td>"};
        if (texts)
            cells.push_back("<td class=\"text\">" + html_escape(x->pass ? x->detail : x->error) +
                            "</td>");
        row(out, cells);
    }
    out += "</table>\n";
}

}  // namespace

Snapshot without_details(Snapshot s) {
    for (ServiceState& x : s.services) {
        x.detail.clear();
        if (!x.pass) x.error = x.starting ? "" : "failing";
    }
    return s;
}

std::string status_json(const Snapshot& s, std::chrono::milliseconds interval) {
    static const char* const kStatus[] = {"fail", "starting", "pass"};
    json failing = json::array(), services = json::array();
    for (const ServiceState& x : s.services) {
        bool fails = state(x) == State::failing;
        if (fails)
            failing.push_back(
                {{"service", x.service}, {"since", iso8601(x.since)}, {"error", x.error}});
        std::string detail =
            x.starting ? "not up yet" + (x.error.empty() ? "" : ": " + x.error) : x.detail;
        services.push_back({{"service", x.service},
                            {"status", kStatus[int(state(x))]},
                            {"since", iso8601(x.since)},
                            {"error", fails ? json(x.error) : json()},
                            {"detail", detail.empty() ? json() : json(detail)},
                            {"checked_at", iso8601(x.checked_at)}});
    }
    return dump({{"checked_at", time_or_null(s.checked_at)},
                 {"interval_seconds", interval_json(interval)},
                 {"failing", failing},
                 {"services", services}});
}

std::string status_html(const Snapshot& s, std::chrono::milliseconds interval) {
    auto count = [&](State which) {
        return std::size_t(std::count_if(s.services.begin(), s.services.end(),
                                         [&](const ServiceState& x) { return state(x) == which; }));
    };
    std::size_t failing = count(State::failing), starting = count(State::starting);
    long refresh = std::max<long>(1, (interval.count() + 999) / 1000);
    auto of_all = [&](std::size_t n, const char* what) {
        return std::to_string(n) + " of " + std::to_string(s.services.size()) +
               (s.services.size() == 1 ? " service " : " services ") + what;
    };
    std::string summary = !s.checked_at ? "Not checked yet"
                          : failing     ? of_all(failing, "failing")
                          : starting
                              ? of_all(starting, "starting")
                              : "All " + std::to_string(s.services.size()) + " services pass";
    std::string out =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta http-equiv=\"refresh\" content=\"" +
        std::to_string(refresh) +
        "\">\n"
        "<title>family status: " +
        html_escape(summary) + "</title>\n<style>" + kStyle +
        "</style>\n</head>\n<body>\n<h1>family status</h1>\n"
        "<p class=\"summary " +
        (failing || !s.checked_at ? "fail"
         : starting               ? "starting"
                                  : "pass") +
        "\">" + html_escape(summary) + "</p>\n<p class=\"muted\">" +
        (s.checked_at ? "Last checked " + time_html(*s.checked_at) + "; c" : "C") +
        "hecks run every " + seconds_text(interval) + " s; this page reloads itself.</p>\n";
    section(out, s.services, State::failing, "Failing", "failing since", "error");
    section(out, s.services, State::starting, "Starting", "not up since", "detail");
    section(out, s.services, State::passing, "Passing", "passing since", "detail");
    return out + "</body>\n</html>\n";
}

std::string health_json(bool pass, const std::string& output) {
    json h{{"status", pass ? "pass" : "fail"}, {"serviceId", "family-status"}};
    if (!output.empty()) h["output"] = output;
    return dump(h);
}

std::string problem_json(int status, const std::string& title, const std::string& detail) {
    return dump(
        {{"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}});
}

}  // namespace family::status
