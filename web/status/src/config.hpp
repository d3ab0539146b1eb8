// The status service's settings, from FAMILY_STATUS_* variables.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace family::status {

struct Config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8090;  // 0: any free port
    std::chrono::milliseconds interval{30000};
    std::chrono::milliseconds timeout{5000};  // each check's own limit
    // After the status service starts, a service that has not passed yet is
    // "starting", not failing, for this long (the stack is coming up).
    std::chrono::milliseconds startup{60000};
    std::string dsn = "host=127.0.0.1 port=5433 dbname=family user=family_status";
    std::string web_url = "http://127.0.0.1:8080/readyz";
    std::string nginx_url = "http://127.0.0.1:8000/nginx/healthz";
    std::string smtp_host = "127.0.0.1";
    std::uint16_t smtp_port = 2525;
};

// Reads the variables through `get` (unset or empty: the default); throws
// std::invalid_argument naming the variable for a value it refuses.
Config config_from(const std::function<const char*(const char*)>& get);

// "1", "0.5", "30.25": seconds with at most three decimals, from lo to hi;
// anything else throws std::invalid_argument naming `name`.
std::chrono::milliseconds seconds(const std::string& name, const std::string& value,
                                  std::chrono::milliseconds lo, std::chrono::milliseconds hi);

// "host:port" or "[v6 address]:port" into host and port (1 to 65535).
// 30000 ms -> "30", 1500 ms -> "1.5".
std::string seconds_text(std::chrono::milliseconds ms);

void host_port(const std::string& name, const std::string& value, std::string& host,
               std::uint16_t& port);

}  // namespace family::status
