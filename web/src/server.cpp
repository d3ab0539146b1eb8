#include "server.hpp"

#include <pistache/peer.h>
#include <sys/socket.h>

#include <cstdio>
#include <ctime>

namespace family::web {

namespace Http = Pistache::Http;

namespace {

// Pistache's request as dispatch() sees it.
class PistacheRequest final : public Request {
  public:
    explicit PistacheRequest(const Http::Request& r) : r_(r) {}
    std::string method() const override { return Http::methodString(r_.method()); }
    const std::string& resource() const override { return r_.resource(); }
    const std::string& body() const override { return r_.body(); }
    std::string peer() const override { return r_.address().host(); }
    std::optional<std::string> header(const char* name) const override {
        auto raw = r_.headers().tryGetRaw(name);
        if (!raw) return std::nullopt;
        return raw->value();
    }
    std::optional<std::string> query(const char* name) const override {
        return r_.query().get(name);
    }

  private:
    const Http::Request& r_;
};

// A response header by name: Pistache 0.0.5 does not send raw headers.
class Named : public Http::Header::Header {
  public:
    Named(std::string name, std::string value) : name_(std::move(name)), value_(std::move(value)) {}
    const char* name() const override { return name_.c_str(); }
    // Pistache 0.0.5 asks a header's hash only when looking one up by type,
    // which it never does for response headers added by name.
    // LCOV_EXCL_START
    std::uint64_t hash() const override { return std::hash<std::string>{}(name_); }
    // LCOV_EXCL_STOP
    void write(std::ostream& os) const override { os << value_; }

  private:
    std::string name_, value_;
};

std::string now_iso() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[40];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::snprintf(out + 19, sizeof out - 19, ".%03dZ", static_cast<int>(ms.count()));
    return out;
}

void access_log(const App& app, const Request& request, const Outcome& out, double seconds,
                std::size_t bytes) {
    nlohmann::json line;
    line["ts"] = now_iso();
    line["method"] = request.method();
    line["path"] = request.resource();
    line["route"] = out.route;
    line["status"] = out.reply.status;
    line["ms"] = seconds * 1000;
    line["bytes"] = bytes;
    line["remote"] = client_address(app, request);
    line["account"] = out.caller ? nlohmann::json(out.caller->account_id) : nlohmann::json();
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace

void handle(App& app, const Http::Request& pistache, Http::ResponseWriter response) {
    auto start = std::chrono::steady_clock::now();
    ++app.in_flight;
    PistacheRequest request(pistache);
    Outcome out = dispatch(app, request);
    const Reply& reply = out.reply;
    for (const auto& [name, value] : reply.headers)
        response.headers().add(std::make_shared<Named>(name, value));
    std::size_t bytes = reply.body.size();
    // send() runs on the connection's own thread: the reply goes to the
    // socket now (a small one fits its buffer), so the request is no longer
    // in flight once send() returns (see drain()). Pistache does not resolve
    // the promise of a write to a client that went away: no count on it.
    // A refused framing: the rest of what the client sent cannot be read, so
    // the connection ends once the answer is written (shutdown: Pistache
    // then sees the close and lets the connection go).
    std::weak_ptr<Pistache::Tcp::Peer> closing;
    if (out.close) closing = response.peer();
    auto sent = reply.status == 204 || reply.status == 304
                    ? response.send(static_cast<Http::Code>(reply.status))
                    : response.send(static_cast<Http::Code>(reply.status), reply.body,
                                    Http::Mime::MediaType::fromString(reply.content_type));
    if (!closing.expired())
        sent.then(
            [closing](ssize_t) {
                if (auto peer = closing.lock()) ::shutdown(peer->fd(), SHUT_RDWR);
            },
            Pistache::Async::IgnoreException);
    --app.in_flight;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    app.metrics.observe(out.route, reply.status, seconds);
    if (app.config.access_log) access_log(app, request, out, seconds, bytes);
}

}  // namespace family::web
