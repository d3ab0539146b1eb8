// Sends one plain-text e-mail over SMTP with libcurl. No PostgreSQL header.
#pragma once

#include <chrono>
#include <csignal>
#include <optional>
#include <string>

namespace family::mail {

struct Settings {
    std::string url;   // smtp://host:port or smtps://host:port
    std::string from;  // envelope and header sender
    std::string to;    // recipients, comma-separated
};

// The message as sent: headers, blank line, body; CRLF line ends.
std::string compose(const Settings& s, const std::string& subject, const std::string& body,
                    const std::string& date, const std::string& message_id);

// Cuts a send short: once *flag is set (a signal handler sets it: the
// process is asked to stop), the send has `grace` left, then gives up.
struct Stop {
    const volatile std::sig_atomic_t* flag = nullptr;
    std::chrono::milliseconds grace{5000};
};

// Sends it; returns nullopt on success, else why it failed. Never throws for
// a network or server error. Bounded in time: 10 s to connect, 60 s in all,
// and `stop`'s grace once it is set.
std::optional<std::string> send(const Settings& s, const std::string& subject,
                                const std::string& body, const Stop& stop = {});

}  // namespace family::mail
