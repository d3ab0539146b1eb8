// Relationships: staff start them; a user asks for a partner, and the
// relationship starts when both have asked for each other; a user ends
// their own.
#include "app.hpp"

namespace family::web {

namespace {

std::string relationship_json(pqxx::work& t, std::int64_t id) {
    return t.exec_prepared1("relationship", id)[0].as<std::string>();
}

Reply start(App& app, Call& call) {
    call.staff();
    Body body = call.body({"person_a", "person_b"});
    std::int64_t a = Body::required(body.id("person_a"), "person_a");
    std::int64_t b = Body::required(body.id("person_b"), "person_b");
    Reply reply{201};
    app.write([&](pqxx::work& t) {
        std::int64_t id = t.exec_prepared1("relationship_start", a, b)[0].as<std::int64_t>();
        reply.body = relationship_json(t, id);
    });
    return reply;
}

Reply ask(App& app, Call& call) {
    std::int64_t me = call.user().person_id;
    Body body = call.body({"partner_id"});
    std::int64_t partner = Body::required(body.id("partner_id"), "partner_id");
    if (partner == me) throw invalid("partner_id is your own id.");
    Reply reply;
    app.write([&](pqxx::work& t) {
        // Whether the partner holds an account or not, the answer is the
        // same (202 until they ask back, which needs one).
        if (!t.exec_prepared1("partner_lock", me, partner)[0].as<bool>())
            throw not_found("No person " + std::to_string(partner) + ".");
        if (!t.exec_prepared("partner_asked", me, partner).empty()) {
            std::int64_t id =
                t.exec_prepared1("relationship_start", me, partner)[0].as<std::int64_t>();
            reply = {201, relationship_json(t, id)};
        } else {
            t.exec_prepared("partner_ask", me, partner);
            reply = {202,
                     nlohmann::ordered_json{{"status", "pending"}, {"partner_id", partner}}.dump()};
        }
    });
    return reply;
}

// GET /api/me/partner-requests: who asked the caller, whom the caller asked.
Reply requests(App& app, Call& call) {
    std::int64_t me = call.user().person_id;
    Reply reply;
    app.pool.transact([&](pqxx::work& t) {
        bool staff = call.user().is_staff;
        std::string incoming =
            t.exec_prepared1("partner_requests_in", me, staff)[0].as<std::string>();
        pqxx::result out = t.exec_prepared("partner_request_out", me, staff);
        reply.body = "{\"incoming\":" + incoming +
                     ",\"outgoing\":" + (out.empty() ? "null" : out[0][0].as<std::string>()) + "}";
    });
    return reply;
}

// DELETE /api/me/partner-request: withdraws the caller's open request.
Reply withdraw(App& app, Call& call) {
    std::int64_t me = call.user().person_id;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result r = t.exec_prepared("partner_withdraw", me);
        if (r.empty() || !r[0][0].as<bool>()) throw not_found("You have no open partner request.");
    });
    return {204};
}

Reply end(App& app, Call& call) {
    std::int64_t me = call.user().person_id;
    app.write([&](pqxx::work& t) {
        if (t.exec_prepared("relationship_mine", me).empty())
            throw not_found("You are not in a relationship.");
        t.exec_prepared("relationship_end", me);
    });
    return {204};
}

}  // namespace

void add_couple_routes(App& app) {
    using M = Pistache::Http::Method;
    app.add({M::Post, "/api/relationships", Access::User, Caching::None,
             [&app](Call& c) { return start(app, c); }});
    app.add({M::Put, "/api/me/partner-request", Access::User, Caching::None,
             [&app](Call& c) { return ask(app, c); }});
    app.add({M::Delete, "/api/me/partner-request", Access::User, Caching::None,
             [&app](Call& c) { return withdraw(app, c); }});
    app.add({M::Get, "/api/me/partner-requests", Access::User, Caching::None,
             [&app](Call& c) { return requests(app, c); }});
    app.add({M::Delete, "/api/me/relationship", Access::User, Caching::None,
             [&app](Call& c) { return end(app, c); }});
}

}  // namespace family::web
