// The service as its handlers see it: its settings, its shared parts (pool,
// caches, metrics), the shape of a route (a call in, a reply out), and
// dispatch(), which answers a request without knowing which server read it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth.hpp"
#include "cache.hpp"
#include "input.hpp"
#include "listener.hpp"
#include "metrics.hpp"
#include "pool.hpp"
#include "problem.hpp"
#include "sessions.hpp"
#include "statement.hpp"

namespace family::web {

// Settings, from the environment (see README, "The REST service").
struct Config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  // 0: any free port
    std::string dsn = "host=127.0.0.1 port=5433 dbname=family user=family_web";
    int threads = 0;          // 0: two per CPU
    std::size_t pool = 0;     // 0: one per thread
    int pool_wait_ms = 5000;  // longest wait for a free connection (then 503)
    int cache_seconds = 300;  // 0 disables the GET cache
    int cache_mb = 64;        // what the GET cache may hold
    int token_hours = 12;
    bool access_log = true;
    int drain_seconds = 10;  // on SIGTERM, longest wait for requests in flight
    // Whose X-Real-IP names the client (the login throttle keys on it): no
    // peer's, a peer on loopback (nginx on this host), or any peer (nginx in
    // another container, the service reachable only through it).
    enum class Proxy { None, Loopback, Any } trust_proxy = Proxy::None;
    // Origins whose pages may call the API (CORS), lower case: "https://a.example".
    std::vector<std::string> cors_origins;
    int import_mb = 64;  // the largest GEDCOM file POST /api/imports takes
    int gedcom_persons = 100000;  // the most persons of a file GET .../gedcom gives a user
};
// Reads FAMILY_WEB_* through `get`; throws std::invalid_argument naming the
// variable for a value that is not allowed.
Config config_from(const std::function<const char*(const char*)>& get);

// A request as dispatch() sees it, whichever server read it (server.cpp:
// Pistache's; the unit tests: their own).
class Request {
  public:
    virtual std::string method() const = 0;           // "GET"
    virtual const std::string& resource() const = 0;  // the path, without the query
    virtual const std::string& body() const = 0;
    virtual std::string peer() const = 0;  // the peer's address
    virtual std::optional<std::string> header(const char* name) const = 0;
    // A query parameter as sent (percent-encoded).
    virtual std::optional<std::string> query(const char* name) const = 0;

  protected:
    ~Request() = default;
};

struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::string location;               // 201's Location
    std::vector<std::int64_t> persons;  // whose values the body shows (cache tags)
    bool per_viewer = false;            // another caller could get another body
    std::vector<std::pair<std::string, std::string>> headers;  // more response headers
};

struct Call {
    const Request& request;
    std::vector<std::string> params;  // the {…} segments of the route, in order
    std::optional<Caller> caller;

    const Caller& user() const;
    const Caller& staff() const;  // 403 for a user who is not staff
    // The caller's person: 403 for an account that is not a person (staff
    // who run the service), on routes about one's own family.
    std::int64_t person() const;
    std::int64_t id(std::size_t param = 0) const;  // 404 unless a positive integer
    Body body(std::initializer_list<std::string_view> fields) const;
    // A query parameter, percent-decoded; 400 when it is not percent-encoded.
    std::optional<std::string> query(const char* name) const;
    // ?limit= and ?cursor= of a list whose cursors are of `kind` (422 if bad).
    PageQuery page(char kind, std::size_t fields) const;
};

// The most a request body may hold, but for a route that says otherwise.
constexpr std::size_t kMaxBody = 64 * 1024;

enum class Access { Anyone, User, Loopback };
enum class Caching { None, Shared, PerUser };

struct Route {
    std::string method;   // "GET"
    std::string pattern;  // "/api/persons/{id}"
    Access access;
    Caching caching;
    std::function<Reply(Call&)> handler;
    std::vector<std::string> segments;  // filled by add()
    std::string name;                   // "GET /api/persons/{id}", for metrics and logs
    std::size_t max_body = kMaxBody;    // the most its request body may hold
};

class App {
  public:
    explicit App(Config config);
    void add(Route route);
    // A transaction that changes what GETs show (pool.transact, then waits
    // until the listener has heard every notification it sent, so that the
    // caller's next read is fresh).
    void write(const std::function<void(pqxx::work&)>& body);
    // Runs a password hash in one of `hashes`' slots; 503 when none freed up.
    void hash(const std::function<void()>& body);

    const Config config;
    Pool pool;
    Cache cache;
    Sessions sessions;
    Listener listener;
    Metrics metrics;
    Throttle login_by_email, login_by_email_address, login_by_address;
    HashSlots hashes;  // one password hash per CPU at a time
    std::vector<Route> routes;

    // Shutdown: new requests get 503; drain() waits until every reply that
    // was being made has been written.
    std::atomic<bool> draining{false};
    std::atomic<int> in_flight{0};
    bool drain(std::chrono::milliseconds deadline);
};

// Each resource family adds its routes (api_*.cpp).
void add_auth_routes(App& app);
void add_person_routes(App& app);
void add_couple_routes(App& app);
void add_children_routes(App& app);
void add_gedcom_routes(App& app);
void add_system_routes(App& app);
// OPTIONS for every path of the routes above: Allow, and CORS preflight.
void add_options_routes(App& app);

// The answer to a request (http.cpp): routing, access and authentication,
// the GET cache and ETags, CORS, and the one catch that turns every failure
// into a problem+json reply. The reply's headers are all there is to send.
struct Outcome {
    Reply reply;
    std::string route = "unmatched";  // the route's name, for metrics and logs
    std::optional<Caller> caller;
    bool close = false;  // the connection cannot go on (refused framing)
};
Outcome dispatch(App& app, const Request& request);

// Who an Authorization header belongs to, from the session cache or the
// database (api_auth.cpp): nullopt without a header, 401 for a bad token.
std::optional<Caller> authenticate(App& app, const Request& request);

// The client's address: the peer's, or the one a trusted proxy names.
std::string client_address(const App& app, const Request& request);

// A page of a list (SPEC 7a): {"items":[ITEMS],"next":CURSOR or null}, and
// while there is more, Link rel="next": this URL with the next cursor.
Reply page_reply(const Call& call, const std::string& items,
                 const std::optional<std::string>& next);

// The reply showing a person as `viewer` sees them (api_persons.cpp;
// app.person_json: a living person's private fields only to staff and
// relatives): 200, or 201 with its Location; 404 for an unknown person.
Reply person_reply(pqxx::work& t, std::int64_t id, const Caller& viewer, int status = 200);

// The extension's API for changing a person (family_web has no UPDATE or
// DELETE on family.person): $1 the person, $2 the columns to set as a JSON
// object, $3 when not NULL: only a child of that parent. True when changed.
extern const Statement person_update;

}  // namespace family::web
