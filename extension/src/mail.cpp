#include "mail.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <vector>

namespace family::mail {

namespace {
std::vector<std::string> recipients(const std::string& to) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= to.size()) {
        std::size_t comma = to.find(',', start);
        if (comma == std::string::npos) comma = to.size();
        std::string r = to.substr(start, comma - start);
        r.erase(0, r.find_first_not_of(" \t"));
        r.erase(r.find_last_not_of(" \t") + 1);
        if (!r.empty()) out.push_back(r);
        start = comma + 1;
    }
    return out;
}

// "Name <addr>" or "addr" -> "<addr>" for the SMTP envelope.
std::string envelope(const std::string& address) {
    std::size_t lt = address.find('<');
    return lt == std::string::npos ? "<" + address + ">" : address.substr(lt);
}

struct Reader {
    const std::string* data;
    std::size_t offset = 0;
};

std::size_t read_payload(char* buffer, std::size_t size, std::size_t n, void* user) {
    Reader* r = static_cast<Reader*>(user);
    std::size_t len = std::min(size * n, r->data->size() - r->offset);
    std::memcpy(buffer, r->data->data() + r->offset, len);
    r->offset += len;
    return len;
}
// libcurl's progress callback (at least once a second, connecting included):
// nonzero ends the transfer.
struct Watch {
    const Stop* stop;
    std::optional<std::chrono::steady_clock::time_point> seen;  // when the flag was first seen
};
int watch_stop(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    Watch& w = *static_cast<Watch*>(user);
    if (!w.stop->flag || !*w.stop->flag) return 0;
    auto now = std::chrono::steady_clock::now();
    if (!w.seen) w.seen = now;
    return now - *w.seen >= w.stop->grace ? 1 : 0;
}
}  // namespace

std::string compose(const Settings& s, const std::string& subject, const std::string& body,
                    const std::string& date, const std::string& message_id) {
    std::string m = "Date: " + date + "\r\nFrom: " + s.from + "\r\nTo: " + s.to +
                    "\r\nMessage-ID: " + message_id + "\r\nSubject: " + subject +
                    "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8"
                    "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    for (char c : body) {
        if (c == '\n') m += '\r';
        m += c;
    }
    return m;
}

std::optional<std::string> send(const Settings& s, const std::string& subject,
                                const std::string& body, const Stop& stop) {
    std::vector<std::string> to = recipients(s.to);
    if (to.empty()) return "family.mail_to names no recipient";
    static bool initialized = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    CURL* curl = initialized ? curl_easy_init() : nullptr;
    if (!curl) return "libcurl could not be initialized";  // LCOV_EXCL_LINE: out of memory only

    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char date[64];
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    std::string id = "<" + std::to_string(micros) + "." + std::to_string(getpid()) + "@family>";
    std::string message = compose(s, subject, body, date, id);
    Reader reader{&message};

    curl_slist* rcpt = nullptr;
    for (const std::string& r : to) rcpt = curl_slist_append(rcpt, envelope(r).c_str());
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, s.url.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, envelope(s.from).c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_payload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    // No signals in a database server process (libcurl's resolver timeouts
    // would use SIGALRM), and bounded waits.
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    Watch watch{&stop, std::nullopt};
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, watch_stop);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &watch);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    if (rc == CURLE_OK) return std::nullopt;
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return "given up " + std::to_string(stop.grace.count()) +
               " ms after the process was asked to stop (" + s.url + ")";
    return std::string(curl_easy_strerror(rc)) + (*error ? std::string(": ") + error : "") + " (" +
           s.url + ")";
}

}  // namespace family::mail
