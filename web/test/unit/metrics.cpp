// The Prometheus text the service exposes.
#include <boost/test/unit_test.hpp>

#include "metrics.hpp"

using namespace family::web;

BOOST_AUTO_TEST_CASE(metrics_count_and_bucket) {
    Metrics m;
    m.observe("GET /a", 200, 0.0007);
    m.observe("GET /a", 200, 0.3);
    m.observe("GET /a", 404, 9);
    std::string out = m.render();
    BOOST_TEST(out.find("family_http_requests_total{route=\"GET /a\",status=\"200\"} 2\n") !=
               std::string::npos);
    BOOST_TEST(out.find("family_http_requests_total{route=\"GET /a\",status=\"404\"} 1\n") !=
               std::string::npos);
    BOOST_TEST(out.find("_bucket{route=\"GET /a\",le=\"0.0005\"} 0\n") != std::string::npos);
    BOOST_TEST(out.find("_bucket{route=\"GET /a\",le=\"0.001\"} 1\n") != std::string::npos);
    BOOST_TEST(out.find("_bucket{route=\"GET /a\",le=\"0.5\"} 2\n") != std::string::npos);
    BOOST_TEST(out.find("_bucket{route=\"GET /a\",le=\"2.5\"} 2\n") != std::string::npos);
    BOOST_TEST(out.find("_bucket{route=\"GET /a\",le=\"+Inf\"} 3\n") != std::string::npos);
    BOOST_TEST(out.find("_count{route=\"GET /a\"} 3\n") != std::string::npos);
    BOOST_TEST(out.find("# TYPE family_http_request_duration_seconds histogram") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(metric_labels_are_escaped) {
    BOOST_TEST(label("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    BOOST_TEST(sample("x", "", 1.5) == "x 1.5\n");
    BOOST_TEST(sample("x", "a=\"b\"", 2) == "x{a=\"b\"} 2\n");
}
