#include "probes.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "render.hpp"

namespace family::status {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// Waits until `fd` is ready for `events` (or in error, which the caller then
// reads); false once `deadline` has passed. A poll() that fails (EINTR; else
// only bad arguments) is tried again: the deadline still bounds it.
bool ready(int fd, short events, SteadyTime deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, events, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) > 0) return true;
    }
}

std::string timed_out(std::chrono::milliseconds timeout, const std::string& what) {
    return "timed out after " + seconds_text(timeout) + " s " + what;
}

std::size_t keep_body(char* data, std::size_t size, std::size_t n, void* body) {
    auto* out = static_cast<std::string*>(body);
    if (out->size() < 4096) out->append(data, std::min(size * n, 4096 - out->size()));
    return size * n;
}

struct Socket {
    int fd;
    ~Socket() { close(fd); }
};

std::string pg_error(const PGresult* r) {
    const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    // Errors libpq makes itself (a lost connection) have no fields.
    return printable(primary ? primary : PQresultErrorMessage(r)) +
           (state ? std::string(" (SQLSTATE ") + state + ")" : "");
}

}  // namespace

std::string http_probe(const std::string& url, std::chrono::milliseconds timeout) {
    std::unique_ptr<CURL, void (*)(CURL*)> h(curl_easy_init(), curl_easy_cleanup);
    if (!h) throw std::runtime_error("libcurl cannot start");  // LCOV_EXCL_LINE: out of memory
    std::string body;
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h.get(), CURLOPT_NOPROXY, "*");  // the services are watched directly
    curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
    curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h.get(), CURLOPT_USERAGENT, "family-status");
    curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &body);
    if (CURLcode rc = curl_easy_perform(h.get()); rc != CURLE_OK)
        throw std::runtime_error("GET " + url + ": " + (*error ? error : curl_easy_strerror(rc)));
    long status = 0;
    curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
    return http_verdict(url, status, body);
}

std::string smtp_probe(const std::string& host, std::uint16_t port,
                       std::chrono::milliseconds timeout) {
    SteadyTime deadline = std::chrono::steady_clock::now() + timeout;
    std::string where = host + ":" + std::to_string(port);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found))
        throw std::runtime_error("cannot resolve " + host + ": " + gai_strerror(rc));
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, freeaddrinfo);
    // The first address only (the default, and a local setup, name one).
    Socket s{socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (s.fd < 0)  // LCOV_EXCL_START: out of file descriptors
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    // LCOV_EXCL_STOP
    int error = 0;
    socklen_t length = sizeof error;
    if (connect(s.fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS)
        error = errno;
    else if (!ready(s.fd, POLLOUT, deadline))
        throw std::runtime_error(timed_out(timeout, "connecting to " + where));
    else
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error) throw std::runtime_error("cannot connect to " + where + ": " + std::strerror(error));
    std::string received;
    std::optional<std::string> reply;
    while (!(reply = complete_reply(received))) {
        // A greeting line has at most 512 bytes (RFC 5321); this is no SMTP server.
        if (received.size() > 16384)
            throw std::runtime_error(where +
                                     " sent 16 KiB and no greeting: " + printable(received, 60));
        if (!ready(s.fd, POLLIN, deadline))
            throw std::runtime_error(timed_out(timeout, "waiting for the greeting of " + where));
        char chunk[1024];
        ssize_t n = recv(s.fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            throw std::runtime_error(where + " closed the connection before its greeting" +
                                     (n < 0 ? std::string(": ") + std::strerror(errno) : "") +
                                     (received.empty() ? "" : ": " + printable(received, 300)));
        received.append(chunk, static_cast<std::size_t>(n));
    }
    std::string detail = smtp_verdict(*reply);
    // A polite end of the session; the server's answer changes nothing.
    send(s.fd, "QUIT\r\n", 6, MSG_NOSIGNAL);
    return detail;
}

Rows pg_query(const std::string& dsn, const std::string& sql, std::chrono::milliseconds timeout) {
    SteadyTime deadline = std::chrono::steady_clock::now() + timeout;
    const char* keys[] = {"dbname", "fallback_application_name", nullptr};
    const char* values[] = {dsn.c_str(), "family-status", nullptr};
    std::unique_ptr<PGconn, void (*)(PGconn*)> c(PQconnectStartParams(keys, values, 1), PQfinish);
    if (!c) throw std::runtime_error("libpq cannot start");  // LCOV_EXCL_LINE: out of memory
    // libpq's connection state machine, each wait bounded by the deadline.
    for (PostgresPollingStatusType s = PGRES_POLLING_WRITING; s != PGRES_POLLING_OK;
         s = PQconnectPoll(c.get())) {
        if (s == PGRES_POLLING_FAILED || PQstatus(c.get()) == CONNECTION_BAD)
            throw std::runtime_error("cannot connect: " + printable(PQerrorMessage(c.get())));
        if (!ready(PQsocket(c.get()), s == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline))
            throw std::runtime_error(timed_out(timeout, "connecting to PostgreSQL"));
    }
    // Past the deadline the check has hung up; statement_timeout ends the
    // server's side of it soon after.
    std::string text =
        "SET statement_timeout = " + std::to_string(timeout.count() + 1000) + "; " + sql;
    // libpq reports a failed write when it reads the answer: this fails only
    // without memory.
    if (!PQsendQuery(c.get(), text.c_str()))  // LCOV_EXCL_START
        throw std::runtime_error("cannot send the query: " + printable(PQerrorMessage(c.get())));
    // LCOV_EXCL_STOP
    Rows rows;
    std::string error;
    for (;;) {
        while (PQisBusy(c.get())) {
            if (!ready(PQsocket(c.get()), POLLIN, deadline))
                throw std::runtime_error(timed_out(timeout, "waiting for PostgreSQL's answer"));
            // A failure here (connection lost) comes back as the result's error.
            PQconsumeInput(c.get());
        }
        std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQgetResult(c.get()), PQclear);
        if (!r) break;
        if (PQresultStatus(r.get()) == PGRES_TUPLES_OK) {
            rows.clear();
            for (int i = 0; i < PQntuples(r.get()); ++i) {
                Row row;
                for (int j = 0; j < PQnfields(r.get()); ++j)
                    row.push_back(PQgetisnull(r.get(), i, j)
                                      ? std::nullopt
                                      : std::optional<std::string>(PQgetvalue(r.get(), i, j)));
                rows.push_back(std::move(row));
            }
        } else if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && error.empty()) {
            error = pg_error(r.get());
        }
    }
    if (!error.empty()) throw std::runtime_error(error);
    return rows;
}

std::vector<Check> all_checks(const Config& c) {
    auto sql = [c](const char* query) { return pg_query(c.dsn, query, c.timeout); };
    return {
        {"postgresql", [sql] { return postgres_verdict(sql(kPostgresSql)); }},
        {"web", [c] { return http_probe(c.web_url, c.timeout); }},
        {"nginx", [c] { return http_probe(c.nginx_url, c.timeout); }},
        {"smtp", [c] { return smtp_probe(c.smtp_host, c.smtp_port, c.timeout); }},
        {"cron", [sql] { return cron_verdict(sql(kCronSql)); }},
        {"check", [sql] { return check_verdict(sql(kCheckSql)); }},
    };
}

}  // namespace family::status
