// Settings from the environment: defaults, overrides, refusals.
#include <boost/test/unit_test.hpp>

#include <map>

#include "app.hpp"

using namespace family::web;

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
    BOOST_TEST(c.port == 8080);
    BOOST_TEST(c.threads >= 2);
    BOOST_TEST(c.threads == 4 * static_cast<int>(c.pool));  // 8 threads, 2 connections a CPU
    BOOST_TEST(c.cache_seconds == 300);
    BOOST_TEST(c.cache_mb == 64);
    BOOST_TEST(c.pool_wait_ms == 5000);
    BOOST_TEST(c.drain_seconds == 10);
    BOOST_TEST(c.access_log);
    BOOST_TEST((c.trust_proxy == Config::Proxy::None));
}

BOOST_AUTO_TEST_CASE(config_overrides) {
    Config c = with({{"FAMILY_WEB_HOST", "0.0.0.0"}, {"FAMILY_WEB_PORT", "0"},
                     {"FAMILY_WEB_DSN", "dbname=x"}, {"FAMILY_WEB_THREADS", "3"},
                     {"FAMILY_WEB_POOL", "5"}, {"FAMILY_WEB_CACHE_SECONDS", "0"},
                     {"FAMILY_WEB_TOKEN_HOURS", "2"}, {"FAMILY_WEB_ACCESS_LOG", "0"},
                     {"FAMILY_WEB_CACHE_MB", "8"}, {"FAMILY_WEB_TRUST_PROXY", "1"},
                     {"FAMILY_WEB_POOL_WAIT_MS", "250"}, {"FAMILY_WEB_DRAIN_SECONDS", "0"},
                     {"FAMILY_WEB_PORT_UNUSED", ""}});
    BOOST_TEST(c.host == "0.0.0.0");
    BOOST_TEST(c.port == 0);
    BOOST_TEST(c.dsn == "dbname=x");
    BOOST_TEST(c.threads == 3);
    BOOST_TEST(c.pool == 5u);
    BOOST_TEST(c.cache_seconds == 0);
    BOOST_TEST(c.token_hours == 2);
    BOOST_TEST(!c.access_log);
    BOOST_TEST(c.cache_mb == 8);
    BOOST_TEST(c.pool_wait_ms == 250);
    BOOST_TEST(c.drain_seconds == 0);
    BOOST_TEST((c.trust_proxy == Config::Proxy::Loopback));
    BOOST_TEST((with({{"FAMILY_WEB_TRUST_PROXY", "all"}}).trust_proxy == Config::Proxy::Any));
    BOOST_TEST((with({{"FAMILY_WEB_TRUST_PROXY", "0"}}).trust_proxy == Config::Proxy::None));
    BOOST_CHECK_THROW(with({{"FAMILY_WEB_TRUST_PROXY", "yes"}}), std::invalid_argument);
    BOOST_TEST(with({{"FAMILY_WEB_PORT", ""}}).port == 8080);  // empty = unset
}

BOOST_AUTO_TEST_CASE(cors_origins_are_a_list_of_origins) {
    BOOST_TEST(with({}).cors_origins.empty());
    BOOST_TEST(with({{"FAMILY_WEB_CORS_ORIGINS", ""}}).cors_origins.empty());
    Config c = with({{"FAMILY_WEB_CORS_ORIGINS",
                      "https://Family.Example, http://localhost:3000,http://[::1]:8000"}});
    BOOST_TEST(c.cors_origins.size() == 3u);
    BOOST_TEST(c.cors_origins.at(0) == "https://family.example");
    BOOST_TEST(c.cors_origins.at(1) == "http://localhost:3000");
    BOOST_TEST(c.cors_origins.at(2) == "http://[::1]:8000");
    for (const char* bad : {"https://a.example/", "https://a.example/path", "ftp://a.example", "*",
                            "a.example", "https://a.example,", "https://a.example:99999x",
                            "null"}) {
        try {
            with({{"FAMILY_WEB_CORS_ORIGINS", bad}});
            BOOST_ERROR("accepted " << bad);
        } catch (const std::invalid_argument& e) {
            BOOST_TEST(std::string(e.what()).rfind("FAMILY_WEB_CORS_ORIGINS must be origins", 0) ==
                       0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(config_refuses_bad_values) {
    for (const auto& [name, value] :
         std::map<std::string, std::string>{{"FAMILY_WEB_PORT", "65536"},
                                            {"FAMILY_WEB_THREADS", "0"},
                                            {"FAMILY_WEB_CACHE_SECONDS", "301"},
                                            {"FAMILY_WEB_POOL", "x"},
                                            {"FAMILY_WEB_ACCESS_LOG", "-1"}}) {
        try {
            with({{name, value}});
            BOOST_FAIL(name + " accepted " + value);
        } catch (const std::invalid_argument& e) {
            BOOST_TEST(std::string(e.what()).find(name) == 0u);
        }
    }
}

// Parameters the service adds to FAMILY_WEB_DSN, in either form libpq reads.
BOOST_AUTO_TEST_CASE(dsn_gets_parameters_in_its_own_form) {
    BOOST_TEST(with_params("host=db dbname=family", {{"application_name", "w"}}) ==
               "host=db dbname=family application_name=w");
    BOOST_TEST(with_params("", {{"a", "b"}}) == "a=b");
    BOOST_TEST(with_params("postgres://db/f", {{"a", "b"}, {"c", "d"}}) == "postgres://db/f?a=b&c=d");
    BOOST_TEST(with_params("dbname=f", {{"a", "b"}, {"c", "d"}}) == "dbname=f a=b c=d");
    BOOST_TEST(with_params("postgresql://u@db/family", {{"a", "b"}}) == "postgresql://u@db/family?a=b");
    BOOST_TEST(with_params("postgres://db/family?sslmode=disable", {{"a", "b"}}) ==
               "postgres://db/family?sslmode=disable&a=b");
}
