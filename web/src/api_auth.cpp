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
    for (char& c : email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (int wait = app.login_by_address.throttle(client_address(app, call.request)))
        throw too_many(wait);
    if (int wait = app.login_by_email.throttle(email)) throw too_many(wait);

    std::optional<std::int64_t> person;
    std::string hash;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result r = t.exec_prepared("account_by_email", email);
        if (r.empty()) return;
        person = r[0][0].as<std::int64_t>();
        hash = r[0][1].as<std::string>();
    });
    // An unknown e-mail costs a verification too: the answer's timing does
    // not tell which accounts exist.
    static const std::string decoy = hash_password("decoy password");
    bool ok = verify_password(person ? hash : decoy, password);
    if (!person || !ok) throw unauthenticated();

    NewToken token = new_token();
    std::string expires_at;
    app.pool.transact([&](pqxx::work& t) {
        expires_at = t.exec_prepared1("token_add", to_hex(token.hash), *person,
                                      app.config.token_hours * 3600)[0]
                         .as<std::string>();
    });
    return {200, nlohmann::json{{"token", token.token}, {"expires_at", expires_at}}.dump()};
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

Reply me(App& app, Call& call) {
    std::int64_t id = call.user().person_id;
    Reply reply;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result found = t.exec_prepared("me", id);
        if (found.empty()) throw unauthenticated();  // the account went after the token was read
        const pqxx::row& r = found[0];
        reply.body = nlohmann::json{{"person", nlohmann::json::parse(r[0].as<std::string>())},
                                    {"account",
                                     {{"email", r[1].as<std::string>()},
                                      {"is_staff", r[2].as<bool>()}}}}
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
    app.add({M::Get, "/api/me", Access::User, Caching::None,
             [&app](Call& c) { return me(app, c); }});
}

}  // namespace family::web
