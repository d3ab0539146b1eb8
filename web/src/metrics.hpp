// Request metrics in the Prometheus text format: a counter per route and
// status, and a latency histogram per route.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace family::web {

class Metrics {
  public:
    // route is the route's pattern (e.g. "GET /api/persons/{id}"), so that
    // the series stay few.
    void observe(const std::string& route, int status, double seconds);
    std::string render() const;

    static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,   0.25,   0.5,   1,    2.5};

  private:
    struct Histogram {
        std::array<std::uint64_t, kBuckets.size()> buckets{};  // cumulative at render
        std::uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, std::uint64_t> requests_;
    std::map<std::string, Histogram> latency_;
};

// One sample line: name{labels} value.
std::string sample(const std::string& name, const std::string& labels, double value);
// A label value with \, " and newline escaped.
std::string label(const std::string& value);

}  // namespace family::web
