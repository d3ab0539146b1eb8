// family-status: the status service (SPEC section 8). Every interval it
// checks PostgreSQL, the web service, nginx, the SMTP server, pg_cron's last
// run of the consistency check and that check's findings, and serves the
// services failing at the last round on GET /status/. Settings come from
// FAMILY_STATUS_* variables; SIGTERM or SIGINT stops it gracefully.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <curl/curl.h>
#include <pistache/endpoint.h>

#include "probes.hpp"
#include "render.hpp"
#include "routes.hpp"

namespace {

namespace Http = Pistache::Http;
using namespace family::status;

void say(const std::string& line) {
    std::fprintf(stderr, "family-status: %s\n", line.c_str());
}

// A response header by name: Pistache 0.0.5 does not send raw headers.
class Named : public Http::Header::Header {
  public:
    Named(std::string name, std::string value) : name_(std::move(name)), value_(std::move(value)) {}
    const char* name() const override { return name_.c_str(); }
    // LCOV_EXCL_START: Pistache asks for it only to cast a header to one of
    // its own classes, which nothing does with these.
    std::uint64_t hash() const override { return std::hash<std::string>{}(name_); }
    // LCOV_EXCL_STOP
    void write(std::ostream& os) const override { os << value_; }

  private:
    std::string name_, value_;
};

class Handler : public Http::Handler {
  public:
    HTTP_PROTOTYPE(Handler)
    Handler(const Board& board, const Config& config, std::chrono::milliseconds deadline)
        : board_(board), config_(config), deadline_(deadline) {}

    void onRequest(const Http::Request& request, Http::ResponseWriter response) override {
        auto accept = request.headers().tryGetRaw("Accept");
        bool forwarded = request.headers().tryGetRaw("X-Real-IP") ||
                         request.headers().tryGetRaw("X-Forwarded-For");
        Request r{Http::methodString(request.method()), request.resource(),
                  accept ? accept->value() : "",
                  from_operator(request.address().host(), forwarded)};
        Reply reply =
            respond(r, View{board_.snapshot(), Clock::now(), config_.interval, deadline_}, say);
        for (auto& [name, value] : reply.headers)
            response.headers().add(std::make_shared<Named>(name, value));
        response.send(static_cast<Http::Code>(reply.status), reply.body,
                      Http::Mime::MediaType::fromString(reply.content_type));
    }

  private:
    const Board& board_;
    const Config& config_;
    std::chrono::milliseconds deadline_;
};

}  // namespace

int main(int argc, char**) {
    using namespace Pistache;
    Config config;
    try {
        config = config_from([](const char* name) { return std::getenv(name); });
    } catch (const std::invalid_argument& e) {
        say(e.what());
        return 2;
    }
    if (argc != 1) {
        std::fprintf(stderr, "usage: family-status (settings: FAMILY_STATUS_* variables)\n");
        return 2;
    }
    // Signals are blocked before any thread starts, so that only sigwait()
    // below receives them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    curl_global_init(CURL_GLOBAL_DEFAULT);  // once, before the checks' threads

    // The checks' own timeouts, plus a second for the round to collect them.
    std::chrono::milliseconds deadline = config.timeout + std::chrono::milliseconds(1000);
    Runner runner(all_checks(config), deadline);
    Board board(Clock::now() + config.startup);
    Poller poller(runner, board, config.interval, say);
    poller.round();  // the first round, before the page is served

    std::unique_ptr<Http::Endpoint> server;
    try {
        server = std::make_unique<Http::Endpoint>(Address(config.host, Port(config.port)));
        server->init(Http::Endpoint::options()
                         .threads(2)
                         .flags(Tcp::Options::ReuseAddr)
                         .maxRequestSize(16 * 1024)  // GETs only
                         .headerTimeout(std::chrono::seconds(10))
                         .bodyTimeout(std::chrono::seconds(10)));
        server->setHandler(Http::make_handler<Handler>(board, config, deadline));
        server->serveThreaded();
    } catch (const std::exception& e) {
        say("cannot listen on " + config.host + ":" + std::to_string(config.port) + ": " +
            e.what());
        return 1;
    }
    std::fprintf(stderr, "family-status: listening on http://%s:%u/\n", config.host.c_str(),
                 static_cast<unsigned>(server->getPort()));
    poller.start();
    int received = 0;
    sigwait(&signals, &received);
    say(std::string(strsignal(received)) + ", shutting down");
    poller.stop();
    server->shutdown();
    return 0;
}
