// Accounts and tokens: POST and DELETE /api/auth/token, PUT
// /api/me/password, GET /api/me, and who a request's bearer token names.
#include "app.hpp"

namespace family::web {

namespace {

// The e-mail as the database compares it, and its account if there is one.
const Statement account_by_email{
    "account_by_email",
    "SELECT lower($1), a.id, a.password_hash"
    "  FROM (SELECT) AS one LEFT JOIN app.account AS a ON a.email = lower($1)"};
const Statement token_add{
    "token_add",
    "INSERT INTO app.token (hash, account_id, expires_at)"
    " VALUES (decode($1, 'hex'), $2, now() + make_interval(secs => $3))"
    " RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"};
const Statement token_caller{
    "token_caller",
    "SELECT a.id, a.person_id, a.is_staff, extract(epoch FROM t.expires_at - now())::float8"
    "  FROM app.token AS t JOIN app.account AS a ON a.id = t.account_id"
    " WHERE t.hash = decode($1, 'hex') AND t.expires_at > now()"};
const Statement token_delete{"token_delete",
                             "DELETE FROM app.token WHERE hash = decode($1, 'hex')"};
// A password change: the account's row, kept until the change commits.
const Statement account_of{"account_of",
                           "SELECT email, password_hash FROM app.account WHERE id = $1 FOR UPDATE"};
const Statement password_set{"password_set",
                             "UPDATE app.account SET password_hash = $2 WHERE id = $1"};
const Statement tokens_but{
    "tokens_but", "DELETE FROM app.token WHERE account_id = $1 AND hash <> decode($2, 'hex')"};
const Statement me_of{"me",
                      "SELECT app.person_json(person_id, person_id, is_staff), id, email, is_staff"
                      "  FROM app.account WHERE id = $1"};

// The hash of the request's token (authenticate() has read it).
std::string token_of(const Call& call) {
    return to_hex(*token_hash(call.request.header("Authorization")->substr(7)));
}

Problem too_many(int seconds) {
    Problem p(429, "Too Many Requests", "Too many login attempts; retry later.");
    p.retry_after = seconds;
    return p;
}

Reply login(App& app, Call& call) {
    Body body = call.body({"email", "password"});
    std::string email = Body::required(body.text("email", 254), "email");
    std::string password = Body::required(body.text("password", 1024), "password");
    std::string address = client_address(app, call.request);
    if (int wait = app.login_by_address.throttle(address)) throw too_many(wait);

    // The e-mail as the database compares it (lower() in its collation: it
    // folds every letter, not only ASCII), and its account if there is one.
    std::string key;
    std::optional<std::int64_t> account;
    std::string hash;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::row r = account_by_email.one(t, email);
        key = r[0].as<std::string>();
        if (r[1].is_null()) return;
        account = r[1].as<std::int64_t>();
        hash = r[2].as<std::string>();
    });
    // Failures count per e-mail and address (5 a minute), so that someone
    // elsewhere cannot lock the owner out, and per e-mail from everywhere (a
    // looser 20), against guessing from many addresses. A success counts
    // for nothing.
    std::string pair = key + "\n" + address;
    // (An attempt throttled by e-mail still counts for its address.)
    auto refund = [&] {
        app.login_by_address.refund(address);
        app.login_by_email_address.refund(pair);
        app.login_by_email.refund(key);
    };
    if (int wait = app.login_by_email_address.throttle(pair)) throw too_many(wait);
    if (int wait = app.login_by_email.throttle(key)) {
        app.login_by_email_address.refund(pair);
        throw too_many(wait);
    }
    // An unknown e-mail costs a verification too: the answer's timing does
    // not tell which accounts exist.
    static const std::string decoy = hash_password("decoy password");
    bool ok = false;
    try {
        app.hash([&] { ok = verify_password(account ? hash : decoy, password); });
    } catch (const Problem&) {  // no slot: the attempt counts for nothing
        refund();
        throw;
    }
    if (!account || !ok) throw unauthenticated();
    refund();

    NewToken token = new_token();
    std::string expires_at;
    app.pool.transact([&](pqxx::work& t) {
        expires_at =
            token_add.one(t, to_hex(token.hash), *account, app.config.token_hours * 3600)[0]
                .as<std::string>();
    });
    return {200, nlohmann::ordered_json{{"token", token.token}, {"expires_at", expires_at}}.dump()};
}

Reply logout(App& app, Call& call) {
    call.user();
    // The token's row goes, the database tells every service (family_account)
    // and write() waits until this one has heard it.
    app.write([&](pqxx::work& t) { token_delete(t, token_of(call)); });
    return {204};
}

// PUT /api/me/password: the current password, then the new one; every
// other token of the account is revoked. A wrong current password counts
// as a failed login of the account from that address.
Reply password(App& app, Call& call) {
    std::int64_t id = call.user().account_id;
    Body body = call.body({"current_password", "new_password"});
    std::string current = Body::required(body.text("current_password", 1024), "current_password");
    std::string next = Body::required(body.text("new_password", 1024), "new_password");
    if (next.size() < 8) throw invalid("A password has at least 8 characters.");
    std::string email, stored;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result r = account_of(t, id);
        if (r.empty()) throw unauthenticated();  // the account went after the token was read
        email = r[0][0].as<std::string>();
        stored = r[0][1].as<std::string>();
    });
    std::string pair = email + "\n" + client_address(app, call.request);
    if (int wait = app.login_by_email_address.throttle(pair)) throw too_many(wait);
    bool ok = false;
    std::string hash;
    app.hash([&] { ok = verify_password(stored, current); });
    if (!ok) throw forbidden("The current password is not right.");
    app.login_by_email_address.refund(pair);
    app.hash([&] { hash = hash_password(next); });
    app.write([&](pqxx::work& t) {
        password_set(t, id, hash);
        tokens_but(t, id, token_of(call));
    });
    return {204};
}

// The caller's person (null for an account that is not a person) and account.
Reply me(App& app, Call& call) {
    std::int64_t id = call.user().account_id;
    Reply reply;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result found = me_of(t, id);
        if (found.empty()) throw unauthenticated();  // the account went after the token was read
        const pqxx::row& r = found[0];
        reply.body = "{\"person\":" + std::string(r[0].is_null() ? "null" : r[0].c_str()) +
                     ",\"account\":" +
                     nlohmann::ordered_json{{"id", r[1].as<std::int64_t>()},
                                            {"email", r[2].as<std::string>()},
                                            {"is_staff", r[3].as<bool>()}}
                         .dump() +
                     "}";
    });
    return reply;
}

}  // namespace

std::optional<Caller> authenticate(App& app, const Request& request) {
    std::optional<std::string> auth = request.header("Authorization");
    if (!auth) return std::nullopt;
    if (auth->rfind("Bearer ", 0) != 0) throw unauthenticated();
    std::optional<std::string> hash = token_hash(auth->substr(7));
    if (!hash) throw unauthenticated();
    if (std::optional<Caller> known = app.sessions.find(*hash)) return known;
    std::uint64_t generation = app.sessions.generation();
    std::optional<Caller> found;
    double seconds = 0;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result r = token_caller(t, to_hex(*hash));
        if (r.empty()) return;
        found = Caller{r[0][0].as<std::int64_t>(), std::nullopt, r[0][2].as<bool>()};
        if (!r[0][1].is_null()) found->person_id = r[0][1].as<std::int64_t>();
        seconds = r[0][3].as<double>();
    });
    if (!found) throw unauthenticated();
    auto now = Sessions::Clock::now();
    app.sessions.remember(*hash, *found,
                          now + std::chrono::milliseconds(static_cast<long>(seconds * 1000)),
                          generation, now);
    return found;
}

void add_auth_routes(App& app) {
    app.add({"POST", "/api/auth/token", Access::Anyone, Caching::None,
             [&app](Call& c) { return login(app, c); }});
    app.add({"DELETE", "/api/auth/token", Access::User, Caching::None,
             [&app](Call& c) { return logout(app, c); }});
    app.add({"PUT", "/api/me/password", Access::User, Caching::None,
             [&app](Call& c) { return password(app, c); }});
    app.add(
        {"GET", "/api/me", Access::User, Caching::None, [&app](Call& c) { return me(app, c); }});
}

}  // namespace family::web
