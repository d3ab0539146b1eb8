// Sends one plain-text e-mail over SMTP with libcurl. No PostgreSQL header.
#pragma once

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

// Sends it; returns nullopt on success, else why it failed. Never throws for
// a network or server error. Bounded in time: 10 s to connect, 60 s in all.
std::optional<std::string> send(const Settings& s, const std::string& subject,
                                const std::string& body);

}  // namespace family::mail
