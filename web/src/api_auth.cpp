// POST /api/auth/token, DELETE /api/auth/token, GET /api/me.
#include "app.hpp"

namespace family::web {

namespace {

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
    std::optional<std::int64_t> person;
    std::string hash;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::row r = t.exec_prepared1("account_by_email", email);
        key = r[0].as<std::string>();
        if (r[1].is_null()) return;
        person = r[1].as<std::int64_t>();
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
        app.hash([&] { ok = verify_password(person ? hash : decoy, password); });
    } catch (const Problem&) {  // no slot: the attempt counts for nothing
        refund();
        throw;
    }
    if (!person || !ok) throw unauthenticated();
    refund();

    NewToken token = new_token();
    std::string expires_at;
    app.pool.transact([&](pqxx::work& t) {
        expires_at = t.exec_prepared1("token_add", to_hex(token.hash), *person,
                                      app.config.token_hours * 3600)[0]
                         .as<std::string>();
    });
    return {200,
            nlohmann::ordered_json{{"token", token.token}, {"expires_at", expires_at}}.dump()};
}

Reply logout(App& app, Call& call) {
    call.user();
    std::string auth = call.request.headers().getRaw("Authorization").value();
    std::string hash = *token_hash(auth.substr(7));
    // The token's row goes, the database tells every service (family_account)
    // and write() waits until this one has heard it.
    app.write([&](pqxx::work& t) { t.exec_prepared("token_delete", to_hex(hash)); });
    return {204};
}

// PUT /api/me/password: the current password, then the new one; every
// other token of the account is revoked. A wrong current password counts
// as a failed login of the account from that address.
Reply password(App& app, Call& call) {
    std::int64_t id = call.user().person_id;
    Body body = call.body({"current_password", "new_password"});
    std::string current = Body::required(body.text("current_password", 1024), "current_password");
    std::string next = Body::required(body.text("new_password", 1024), "new_password");
    if (next.size() < 8) throw invalid("A password has at least 8 characters.");
    std::string email, stored;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result r = t.exec_prepared("account_of", id);
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
    std::string auth = call.request.headers().getRaw("Authorization").value();
    std::string mine = to_hex(*token_hash(auth.substr(7)));
    app.write([&](pqxx::work& t) {
        t.exec_prepared("password_set", id, hash);
        t.exec_prepared("tokens_but", id, mine);
    });
    return {204};
}

Reply me(App& app, Call& call) {
    std::int64_t id = call.user().person_id;
    Reply reply;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result found = t.exec_prepared("me", id);
        if (found.empty()) throw unauthenticated();  // the account went after the token was read
        const pqxx::row& r = found[0];
        reply.body =
            nlohmann::ordered_json{
                {"person", nlohmann::ordered_json::parse(r[0].as<std::string>())},
                {"account", {{"email", r[1].as<std::string>()}, {"is_staff", r[2].as<bool>()}}}}
                .dump();
    });
    return reply;
}

}  // namespace

void add_auth_routes(App& app) {
    using M = Pistache::Http::Method;
    app.add({M::Post, "/api/auth/token", Access::Anyone, Caching::None,
             [&app](Call& c) { return login(app, c); }});
    app.add({M::Delete, "/api/auth/token", Access::User, Caching::None,
             [&app](Call& c) { return logout(app, c); }});
    app.add({M::Put, "/api/me/password", Access::User, Caching::None,
             [&app](Call& c) { return password(app, c); }});
    app.add(
        {M::Get, "/api/me", Access::User, Caching::None, [&app](Call& c) { return me(app, c); }});
}

}  // namespace family::web
