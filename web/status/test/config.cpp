// Settings from the environment: defaults, overrides, refusals.
#include <boost/test/unit_test.hpp>

#include <map>

#include "config.hpp"

using namespace family::status;
using std::chrono::milliseconds;

namespace {
Config with(std::map<std::string, std::string> env) {
    return config_from([env](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}
}  // namespace

BOOST_AUTO_TEST_CASE(config_defaults) {
    Config c = with({});
    BOOST_TEST(c.host == "127.0.0.1");
    BOOST_TEST(c.port == 8090);
    BOOST_TEST(c.interval.count() == 30000);
    BOOST_TEST(c.timeout.count() == 5000);
    BOOST_TEST(c.startup.count() == 60000);
    BOOST_TEST(c.dsn == "host=127.0.0.1 port=5433 dbname=family user=family_status");
    BOOST_TEST(c.web_url == "http://127.0.0.1:8080/readyz");
    BOOST_TEST(c.nginx_url == "http://127.0.0.1:8000/nginx/healthz");
    BOOST_TEST(c.smtp_host == "127.0.0.1");
    BOOST_TEST(c.smtp_port == 2525);
}

BOOST_AUTO_TEST_CASE(config_overrides) {
    Config c = with({{"FAMILY_STATUS_HOST", "0.0.0.0"},
                     {"FAMILY_STATUS_PORT", "0"},
                     {"FAMILY_STATUS_INTERVAL", "1.5"},
                     {"FAMILY_STATUS_TIMEOUT", "0.25"},
                     {"FAMILY_STATUS_STARTUP", "0"},
                     {"FAMILY_STATUS_DSN", "postgresql://family_status@db:5432/family"},
                     {"FAMILY_STATUS_WEB_URL", "https://web.example/readyz?full=1"},
                     {"FAMILY_STATUS_NGINX_URL", "HTTP://[::1]:8000"},
                     {"FAMILY_STATUS_SMTP", "mail.example:25"}});
    BOOST_TEST(c.host == "0.0.0.0");
    BOOST_TEST(c.port == 0);
    BOOST_TEST(c.interval.count() == 1500);
    BOOST_TEST(c.timeout.count() == 250);
    BOOST_TEST(c.startup.count() == 0);
    BOOST_TEST(with({{"FAMILY_STATUS_STARTUP", "3600"}}).startup.count() == 3600000);
    BOOST_TEST(c.dsn == "postgresql://family_status@db:5432/family");
    BOOST_TEST(c.web_url == "https://web.example/readyz?full=1");
    BOOST_TEST(c.nginx_url == "HTTP://[::1]:8000");
    BOOST_TEST(c.smtp_host == "mail.example");
    BOOST_TEST(c.smtp_port == 25);
    // Empty is unset.
    BOOST_TEST(with({{"FAMILY_STATUS_PORT", ""}, {"FAMILY_STATUS_HOST", ""}}).port == 8090);
    BOOST_TEST(with({{"FAMILY_STATUS_INTERVAL", "86400"}}).interval.count() == 86400000);
    BOOST_TEST(with({{"FAMILY_STATUS_TIMEOUT", "600"}}).timeout.count() == 600000);
    BOOST_TEST(with({{"FAMILY_STATUS_HOST", "[::1]"}}).host == "[::1]");
    BOOST_TEST(with({{"FAMILY_STATUS_HOST", "localhost"}}).host == "localhost");
    BOOST_TEST(with({{"FAMILY_STATUS_HOST", "a"}}).host == "a");
}

BOOST_AUTO_TEST_CASE(smtp_address_forms) {
    Config v6 = with({{"FAMILY_STATUS_SMTP", "[::1]:2525"}});
    BOOST_TEST(v6.smtp_host == "::1");
    BOOST_TEST(v6.smtp_port == 2525);
    BOOST_TEST(with({{"FAMILY_STATUS_SMTP", "localhost:65535"}}).smtp_port == 65535);
}

BOOST_AUTO_TEST_CASE(config_refuses_bad_values) {
    const std::pair<const char*, const char*> cases[] = {
        {"FAMILY_STATUS_PORT", "65536"},
        {"FAMILY_STATUS_PORT", "-1"},
        {"FAMILY_STATUS_PORT", "80x"},
        {"FAMILY_STATUS_PORT", "123456"},
        {"FAMILY_STATUS_INTERVAL", "0"},
        {"FAMILY_STATUS_INTERVAL", "0.05"},
        {"FAMILY_STATUS_INTERVAL", "1e3"},
        {"FAMILY_STATUS_INTERVAL", "86400.001"},
        {"FAMILY_STATUS_INTERVAL", "1.2345"},
        {"FAMILY_STATUS_INTERVAL", " 30"},
        {"FAMILY_STATUS_TIMEOUT", "601"},
        {"FAMILY_STATUS_TIMEOUT", "five"},
        {"FAMILY_STATUS_TIMEOUT", "-5"},
        {"FAMILY_STATUS_STARTUP", "3600.5"},
        {"FAMILY_STATUS_STARTUP", "soon"},
        {"FAMILY_STATUS_DSN", "host"},
        {"FAMILY_STATUS_DSN", "nosuchkey=1"},
        {"FAMILY_STATUS_DSN", "postgresql://h/db?nosuch=1"},
        {"FAMILY_STATUS_WEB_URL", "ftp://x/"},
        {"FAMILY_STATUS_WEB_URL", "http://"},
        {"FAMILY_STATUS_NGINX_URL", "127.0.0.1:8000"},
        {"FAMILY_STATUS_NGINX_URL", "http://a b/"},
        {"FAMILY_STATUS_SMTP", "127.0.0.1"},
        {"FAMILY_STATUS_SMTP", "127.0.0.1:0"},
        {"FAMILY_STATUS_SMTP", ":25"},
        {"FAMILY_STATUS_SMTP", "[::1:25"},
        {"FAMILY_STATUS_SMTP", "h:99999"},
        {"FAMILY_STATUS_HOST", "::1"},
        {"FAMILY_STATUS_HOST", "not a host"},
        {"FAMILY_STATUS_HOST", "-x"},
        {"FAMILY_STATUS_HOST", "127.0.0.1:80"},
    };
    for (const auto& [name, value] : cases) {
        try {
            with({{name, value}});
            BOOST_FAIL(std::string(name) + " accepted " + value);
        } catch (const std::invalid_argument& e) {
            std::string what = e.what();
            BOOST_TEST(what.find(name) == 0u, what);
        }
    }
}

BOOST_AUTO_TEST_CASE(refusals_say_what_is_allowed) {
    auto message = [](const char* name, const char* value) {
        try {
            with({{name, value}});
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    BOOST_TEST(message("FAMILY_STATUS_INTERVAL", "x") ==
               "FAMILY_STATUS_INTERVAL must be a number of seconds from 0.1 to 86400 (got \"x\")");
    BOOST_TEST(message("FAMILY_STATUS_PORT", "x") ==
               "FAMILY_STATUS_PORT must be a port number from 0 to 65535 (got \"x\")");
    BOOST_TEST(message("FAMILY_STATUS_SMTP", "x") ==
               "FAMILY_STATUS_SMTP must be HOST:PORT (got \"x\")");
    BOOST_TEST(message("FAMILY_STATUS_DSN", "nosuchkey=1")
                   .find("FAMILY_STATUS_DSN is not a libpq connection string: invalid connection "
                         "option \"nosuchkey\"") == 0u);
}

BOOST_AUTO_TEST_CASE(seconds_as_text) {
    BOOST_TEST(seconds_text(milliseconds(30000)) == "30");
    BOOST_TEST(seconds_text(milliseconds(1500)) == "1.5");
    BOOST_TEST(seconds_text(milliseconds(100)) == "0.1");
    BOOST_TEST(seconds_text(milliseconds(2025)) == "2.025");
    BOOST_TEST(seconds_text(milliseconds(0)) == "0");
}
