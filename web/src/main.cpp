// family-web: the REST service (SPEC section 7). Settings come from FAMILY_WEB_*
// variables; SIGTERM or SIGINT stops it gracefully: no new connections,
// requests in flight answered.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <pistache/endpoint.h>
#include <pistache/peer.h>

#include "framing.hpp"
#include "server.hpp"

namespace {

using Pistache::Tcp::Transport;
using TcpHandler = Pistache::Tcp::Handler;

// Tcp::Handler keeps its Transport private (the Transport sets it on each
// clone it makes). Framed hands its own to the handler it forwards to; an
// explicit instantiation may name a private member, which is how this reads
// and writes it.
using TransportField = Transport* TcpHandler::*;
TransportField transport_field();
template <TransportField F>
struct TransportOf {
    friend TransportField transport_field() { return F; }
};
template struct TransportOf<&TcpHandler::transport_>;

// The service's requests, as Pistache parses them.
class Requests : public Pistache::Http::Handler {
  public:
    HTTP_PROTOTYPE(Requests)
    explicit Requests(family::web::App& app) : app_(app) {}
    void onRequest(const Pistache::Http::Request& request,
                   Pistache::Http::ResponseWriter response) override {
        family::web::handle(app_, request, std::move(response));
    }

  private:
    family::web::App& app_;
};

// What the endpoint calls: each read goes through the connection's Framer
// (framing.hpp), and each piece to Requests as a read of its own, so that
// Pistache parses one request at a time. A refused framing becomes a request
// handle() answers (problem+json, logged) before the connection closes.
class Framed : public Pistache::Http::Handler {
  public:
    HTTP_PROTOTYPE(Framed)
    explicit Framed(family::web::App& app)
        : requests_(std::make_shared<Requests>(app)),
          upload_limit_(static_cast<std::uint64_t>(app.config.import_mb) << 20) {}
    // Each Transport's clone parses with a Requests of its own, with the
    // endpoint's settings.
    Framed(const Framed& other)
        : Pistache::Http::Handler(other),
          requests_(std::static_pointer_cast<Requests>(other.requests_->clone())),
          upload_limit_(other.upload_limit_) {
        requests_->setMaxRequestSize(other.getMaxRequestSize());
        requests_->setMaxResponseSize(other.getMaxResponseSize());
        requests_->setHeaderTimeout(other.getHeaderTimeout());
        requests_->setBodyTimeout(other.getBodyTimeout());
    }
    // Requests parses and answers; this never receives a request.
    // LCOV_EXCL_START: never called (onInput hands every read to Requests)
    void onRequest(const Pistache::Http::Request&, Pistache::Http::ResponseWriter) override {}
    // LCOV_EXCL_STOP

  private:
    void onInput(const char* buffer, size_t len,
                 const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
        (*requests_).*transport_field() = transport();
        auto framer = std::static_pointer_cast<family::web::Framer>(peer->tryGetData(kFramer));
        if (!framer) {
            framer = std::make_shared<family::web::Framer>(upload_limit_);
            peer->putData(kFramer, framer);
        }
        TcpHandler& parse = *requests_;
        framer->feed({buffer, len}, [&](const family::web::Framer::Piece& p) {
            if (!p.refused) {
                parse.onInput(p.bytes.data(), p.bytes.size(), peer);
                return;
            }
            getParser(peer)->reset();  // what it held of the refused request
            std::string request = family::web::Framer::refused_request(p.refused);
            parse.onInput(request.data(), request.size(), peer);
        });
    }

    static constexpr const char* kFramer = "family.framer";
    std::shared_ptr<Requests> requests_;
    std::uint64_t upload_limit_;
};

}  // namespace

// family-web create-staff EMAIL: creates a staff account (if no account has
// that e-mail), with the password read from stdin. The account is nobody's
// in the family: staff who run the service need not be in its data.
int create_staff(const family::web::Config& config, const std::string& email) {
    std::string password;
    std::getline(std::cin, password);
    if (password.size() < 8) {
        std::fprintf(stderr, "family-web: the password needs at least 8 characters\n");
        return 2;
    }
    try {
        pqxx::connection c(config.dsn);
        pqxx::work t(c);
        if (!t.exec_params("SELECT FROM app.account WHERE email = lower($1)", email).empty()) {
            std::fprintf(stderr, "family-web: %s already has an account\n", email.c_str());
            return 0;
        }
        t.exec_params(
            "INSERT INTO app.account (email, password_hash, is_staff) VALUES (lower($1), $2, true)",
            email, family::web::hash_password(password));
        t.commit();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "family-web: cannot create the staff account: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "family-web: staff account %s created\n", email.c_str());
    return 0;
}

int main(int argc, char** argv) {
    using namespace Pistache;
    family::web::Config config;
    try {
        config = family::web::config_from([](const char* name) { return std::getenv(name); });
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "family-web: %s\n", e.what());
        return 2;
    }
    if (argc == 3 && std::string(argv[1]) == "create-staff") return create_staff(config, argv[2]);
    if (argc != 1) {
        std::fprintf(stderr, "usage: family-web [create-staff EMAIL <password]\n");
        return 2;
    }
    // Signals are blocked before any thread starts, so that only sigwait()
    // below receives them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one access log line per write

    family::web::App app(config);
    app.listener.start();
    Http::Endpoint server(Address(config.host, Port(config.port)));
    server.init(
        Http::Endpoint::options()
            .threads(config.threads)
            .flags(Tcp::Options::ReuseAddr)
            // Pistache answers a bigger request itself, in plain text:
            // room for what the Framer lets through, so that handle()
            // refuses a body over kMaxBody as problem+json.
            .maxRequestSize(family::web::Framer::kMaxHead +
                            std::max<std::size_t>(family::web::Framer::kMaxAnnounced,
                                                  std::size_t(config.import_mb) << 20))
            .headerTimeout(std::chrono::seconds(10))
            .bodyTimeout(std::chrono::seconds(30)));
    server.setHandler(Http::make_handler<Framed>(app));
    try {
        server.serveThreaded();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "family-web: cannot listen on %s:%u: %s\n", config.host.c_str(),
                     config.port, e.what());
        return 1;
    }
    std::fprintf(stderr, "family-web: listening on http://%s:%u/\n", config.host.c_str(),
                 static_cast<unsigned>(server.getPort()));
    int received = 0;
    sigwait(&signals, &received);
    std::fprintf(stderr, "family-web: %s, shutting down\n", strsignal(received));
    // Requests in flight get their replies (up to FAMILY_WEB_DRAIN_SECONDS);
    // new ones get 503.
    if (!app.drain(std::chrono::seconds(config.drain_seconds))) {
        std::fprintf(stderr, "family-web: requests still running after %d s; cancelling them\n",
                     config.drain_seconds);
        app.pool.cancel_all();  // their statements end with 57014: 503
        app.drain(std::chrono::seconds(5));
    }
    server.shutdown();
    return 0;
}
