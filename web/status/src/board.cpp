#include "board.hpp"

#include <algorithm>

namespace family::status {

namespace {

const ServiceState* find(const std::vector<ServiceState>& states, const std::string& service) {
    auto it = std::find_if(states.begin(), states.end(),
                           [&](const ServiceState& s) { return s.service == service; });
    return it == states.end() ? nullptr : &*it;
}

}  // namespace

std::vector<ServiceState> next_states(const std::vector<ServiceState>& before,
                                      const std::vector<Outcome>& round, Time starting_until) {
    std::vector<ServiceState> after;
    for (const Outcome& o : round) {
        ServiceState s{o.service, o.pass, o.error, o.detail, o.checked_at, o.checked_at};
        const ServiceState* was = find(before, o.service);
        if (was && was->pass == o.pass) s.since = was->since;
        s.starting = !o.pass && o.checked_at < starting_until && (!was || was->starting);
        after.push_back(std::move(s));
    }
    return after;
}

std::vector<std::string> changes(const std::vector<ServiceState>& before,
                                 const std::vector<ServiceState>& after) {
    std::vector<std::string> lines;
    for (const ServiceState& s : after) {
        const ServiceState* was = find(before, s.service);
        bool was_failing = was && !was->pass && !was->starting;
        if (!s.pass && !s.starting && !was_failing)
            lines.push_back(s.service + " fails: " + s.error);
        else if (s.pass && was_failing)
            lines.push_back(s.service + " passes again");
    }
    return lines;
}

bool fresh(const Snapshot& s, Time now, std::chrono::milliseconds interval,
           std::chrono::milliseconds deadline) {
    return s.checked_at && now - *s.checked_at <= 2 * (interval + deadline);
}

std::vector<std::string> Board::record(const std::vector<Outcome>& round, Time at) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<ServiceState> after = next_states(now_.services, round, starting_until_);
    std::vector<std::string> lines = changes(now_.services, after);
    now_.services = std::move(after);
    now_.checked_at = at;
    return lines;
}

bool Board::starting() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::any_of(now_.services.begin(), now_.services.end(),
                       [](const ServiceState& s) { return s.starting; });
}

Snapshot Board::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return now_;
}

}  // namespace family::status
