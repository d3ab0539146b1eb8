#include "metrics.hpp"

#include <cstdio>

namespace family::web {

void Metrics::observe(const std::string& route, int status, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{route, status}];
    Histogram& h = latency_[route];
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
        if (seconds <= kBuckets[i]) {
            ++h.buckets[i];
            break;
        }
    ++h.count;
    h.sum += seconds;
}

std::string label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        out += c == '\n' ? std::string("\\n") : std::string(1, c);
    }
    return out;
}

std::string sample(const std::string& name, const std::string& labels, double value) {
    char number[32];
    std::snprintf(number, sizeof number, "%.17g", value);
    return name + (labels.empty() ? "" : "{" + labels + "}") + " " + number + "\n";
}

std::string Metrics::render() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out =
        "# HELP family_http_requests_total Requests answered, by route and status.\n"
        "# TYPE family_http_requests_total counter\n";
    for (const auto& [key, count] : requests_)
        out += sample("family_http_requests_total",
                      "route=\"" + label(key.first) + "\",status=\"" + std::to_string(key.second) +
                          "\"",
                      static_cast<double>(count));
    out +=
        "# HELP family_http_request_duration_seconds Time to answer, by route.\n"
        "# TYPE family_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
        std::string r = "route=\"" + label(route) + "\"";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
            cumulative += h.buckets[i];
            char le[32];
            std::snprintf(le, sizeof le, "%g", kBuckets[i]);
            out += sample("family_http_request_duration_seconds_bucket",
                          r + ",le=\"" + le + "\"", static_cast<double>(cumulative));
        }
        out += sample("family_http_request_duration_seconds_bucket", r + ",le=\"+Inf\"",
                      static_cast<double>(h.count));
        out += sample("family_http_request_duration_seconds_sum", r, h.sum);
        out += sample("family_http_request_duration_seconds_count", r,
                      static_cast<double>(h.count));
    }
    return out;
}

}  // namespace family::web
