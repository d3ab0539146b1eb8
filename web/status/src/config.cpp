#include "config.hpp"

#include <libpq-fe.h>

#include <memory>
#include <regex>
#include <stdexcept>

namespace family::status {

namespace {

std::invalid_argument refused(const std::string& name, const std::string& what,
                              const std::string& value) {
    return std::invalid_argument(name + " must be " + what + " (got \"" + value + "\")");
}

std::uint16_t port_number(const std::string& name, const std::string& value, int lo) {
    static const std::regex digits("[0-9]{1,5}");
    if (!std::regex_match(value, digits) || std::stoi(value) < lo || std::stoi(value) > 65535)
        throw refused(name, "a port number from " + std::to_string(lo) + " to 65535", value);
    return static_cast<std::uint16_t>(std::stoi(value));
}

std::string url(const std::string& name, const std::string& value) {
    // Only http(s), with a host: the check is a plain GET that wants a 200.
    static const std::regex form("https?://[^/?#\\s]+([/?#]\\S*)?", std::regex::icase);
    if (!std::regex_match(value, form)) throw refused(name, "an http:// or https:// URL", value);
    return value;
}

std::string host(const std::string& name, const std::string& value) {
    // Pistache reads "host:port" itself, so an IPv6 address needs brackets.
    static const std::regex form("\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?");
    if (!std::regex_match(value, form))
        throw refused(name, "a host name, an IPv4 address or an IPv6 address in brackets", value);
    return value;
}

std::string dsn(const std::string& name, const std::string& value) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options(
        PQconninfoParse(value.c_str(), &error), PQconninfoFree);
    if (!options) {
        std::string why = error ? error : "unreadable";
        PQfreemem(error);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        throw std::invalid_argument(name + " is not a libpq connection string: " + why);
    }
    return value;
}

}  // namespace

std::string seconds_text(std::chrono::milliseconds ms) {
    std::string s = std::to_string(ms.count() / 1000);
    if (long rest = ms.count() % 1000) {
        std::string frac = std::to_string(1000 + rest).substr(1);
        s += "." + frac.substr(0, frac.find_last_not_of('0') + 1);
    }
    return s;
}

std::chrono::milliseconds seconds(const std::string& name, const std::string& value,
                                  std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
    static const std::regex form("([0-9]{1,9})(\\.([0-9]{1,3}))?");
    std::smatch m;
    std::string range = "a number of seconds from " + seconds_text(lo) + " to " + seconds_text(hi);
    if (!std::regex_match(value, m, form)) throw refused(name, range, value);
    std::string millis = m[3].str();
    millis.resize(3, '0');
    std::chrono::milliseconds ms(std::stoll(m[1].str()) * 1000 + std::stoll(millis));
    if (ms < lo || ms > hi) throw refused(name, range, value);
    return ms;
}

void host_port(const std::string& name, const std::string& value, std::string& host,
               std::uint16_t& port) {
    static const std::regex form("(\\[([0-9A-Fa-f:.]+)\\]|([^:\\[\\]\\s]+)):([0-9]+)");
    std::smatch m;
    if (!std::regex_match(value, m, form)) throw refused(name, "HOST:PORT", value);
    host = m[2].matched ? m[2].str() : m[3].str();
    port = port_number(name, m[4].str(), 1);
}

Config config_from(const std::function<const char*(const char*)>& get) {
    using std::chrono::milliseconds;
    Config c;
    auto value = [&](const char* name) -> std::string {
        const char* v = get(name);
        return v ? v : "";
    };
    if (std::string v = value("FAMILY_STATUS_HOST"); !v.empty())
        c.host = host("FAMILY_STATUS_HOST", v);
    if (std::string v = value("FAMILY_STATUS_PORT"); !v.empty())
        c.port = port_number("FAMILY_STATUS_PORT", v, 0);
    if (std::string v = value("FAMILY_STATUS_INTERVAL"); !v.empty())
        c.interval =
            seconds("FAMILY_STATUS_INTERVAL", v, milliseconds(100), milliseconds(86400 * 1000));
    if (std::string v = value("FAMILY_STATUS_TIMEOUT"); !v.empty())
        c.timeout =
            seconds("FAMILY_STATUS_TIMEOUT", v, milliseconds(100), milliseconds(600 * 1000));
    if (std::string v = value("FAMILY_STATUS_STARTUP"); !v.empty())
        c.startup = seconds("FAMILY_STATUS_STARTUP", v, milliseconds(0), milliseconds(3600 * 1000));
    if (std::string v = value("FAMILY_STATUS_DSN"); !v.empty()) c.dsn = dsn("FAMILY_STATUS_DSN", v);
    if (std::string v = value("FAMILY_STATUS_WEB_URL"); !v.empty())
        c.web_url = url("FAMILY_STATUS_WEB_URL", v);
    if (std::string v = value("FAMILY_STATUS_NGINX_URL"); !v.empty())
        c.nginx_url = url("FAMILY_STATUS_NGINX_URL", v);
    if (std::string v = value("FAMILY_STATUS_SMTP"); !v.empty())
        host_port("FAMILY_STATUS_SMTP", v, c.smtp_host, c.smtp_port);
    return c;
}

}  // namespace family::status
