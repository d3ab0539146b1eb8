// Relationships: staff start them; a user asks for a partner, and the
// relationship starts when both have asked for each other; a user ends
// their own.
#include "app.hpp"

namespace family::web {

namespace {

const Statement relationship_start{"relationship_start",
                                   "SELECT family.start_relationship($1, $2)"};
const Statement relationship{
    "relationship",
    "SELECT row_to_json(j)::text"
    "  FROM (SELECT id, person_a, person_b, to_char(started_at AT TIME ZONE 'UTC',"
    "                 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS started_at"
    "          FROM family.relationship WHERE id = $1) AS j"};
const Statement relationship_end{"relationship_end", "SELECT family.end_relationship($1)"};
// The caller's current relationship, locked: a concurrent end waits for
// this transaction, or has ended it and it is not found.
const Statement relationship_mine{
    "relationship_mine",
    "SELECT id FROM family.relationship"
    " WHERE ended_at IS NULL AND (person_a = $1 OR person_b = $1) FOR UPDATE"};
// Two requests of one pair serialize on the pair's lock (a collision of
// two pairs only makes them wait); the answer is whether the partner
// exists (a delete of the partner in progress is waited for).
const Statement partner_lock{
    "partner_lock",
    "SELECT EXISTS (SELECT 1 FROM family.person WHERE id = $2 FOR KEY SHARE)"
    "  FROM pg_advisory_xact_lock(hashtextextended("
    "         least($1::bigint, $2::bigint) || ':' || greatest($1::bigint, $2::bigint), 0))"};
// Requests lapse after 30 days; a relationship that starts answers them
// all (a trigger of app.sql deletes them).
const Statement partner_asked{"partner_asked",
                              "SELECT 1 FROM app.partner_request WHERE person_id = $2"
                              "   AND partner_id = $1 AND created_at > now() - interval '30 days'"};
// The requests a person received and the one they sent, still open.
const Statement partner_requests_in{
    "partner_requests_in",
    "SELECT '[' || coalesce(string_agg(app.person_json(person_id, $1, $2), ','"
    "                                   ORDER BY created_at, person_id), '') || ']'"
    "  FROM app.partner_request WHERE partner_id = $1 AND created_at > now() - interval '30 days'"};
const Statement partner_request_out{
    "partner_request_out",
    "SELECT app.person_json(partner_id, $1, $2) FROM app.partner_request"
    " WHERE person_id = $1 AND created_at > now() - interval '30 days'"};
// Withdraws a request; the answer says whether it was still open.
const Statement partner_withdraw{"partner_withdraw",
                                 "DELETE FROM app.partner_request WHERE person_id = $1"
                                 " RETURNING created_at > now() - interval '30 days'"};
const Statement partner_ask{
    "partner_ask",
    "INSERT INTO app.partner_request (person_id, partner_id) VALUES ($1, $2)"
    " ON CONFLICT (person_id) DO UPDATE SET partner_id = excluded.partner_id, created_at = now()"};

std::string relationship_json(pqxx::work& t, std::int64_t id) {
    return relationship.one(t, id)[0].as<std::string>();
}

Reply start(App& app, Call& call) {
    call.staff();
    Body body = call.body({"person_a", "person_b"});
    std::int64_t a = Body::required(body.id("person_a"), "person_a");
    std::int64_t b = Body::required(body.id("person_b"), "person_b");
    Reply reply{201};
    app.write([&](pqxx::work& t) {
        std::int64_t id = relationship_start.one(t, a, b)[0].as<std::int64_t>();
        reply.body = relationship_json(t, id);
    });
    return reply;
}

Reply ask(App& app, Call& call) {
    std::int64_t me = call.person();
    Body body = call.body({"partner_id"});
    std::int64_t partner = Body::required(body.id("partner_id"), "partner_id");
    if (partner == me) throw invalid("partner_id is your own id.");
    Reply reply;
    app.write([&](pqxx::work& t) {
        // Whether the partner holds an account or not, the answer is the
        // same (202 until they ask back, which needs one).
        if (!partner_lock.one(t, me, partner)[0].as<bool>())
            throw not_found("No person " + std::to_string(partner) + ".");
        if (!partner_asked(t, me, partner).empty()) {
            std::int64_t id = relationship_start.one(t, me, partner)[0].as<std::int64_t>();
            reply = {201, relationship_json(t, id)};
        } else {
            partner_ask(t, me, partner);
            reply = {202,
                     nlohmann::ordered_json{{"status", "pending"}, {"partner_id", partner}}.dump()};
        }
    });
    return reply;
}

// GET /api/me/partner-requests: who asked the caller, whom the caller asked.
Reply requests(App& app, Call& call) {
    std::int64_t me = call.person();
    Reply reply;
    app.pool.transact([&](pqxx::work& t) {
        bool staff = call.user().is_staff;
        std::string incoming = partner_requests_in.one(t, me, staff)[0].as<std::string>();
        pqxx::result out = partner_request_out(t, me, staff);
        reply.body = "{\"incoming\":" + incoming +
                     ",\"outgoing\":" + (out.empty() ? "null" : out[0][0].as<std::string>()) + "}";
    });
    return reply;
}

// DELETE /api/me/partner-request: withdraws the caller's open request.
Reply withdraw(App& app, Call& call) {
    std::int64_t me = call.person();
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result r = partner_withdraw(t, me);
        if (r.empty() || !r[0][0].as<bool>()) throw not_found("You have no open partner request.");
    });
    return {204};
}

Reply end(App& app, Call& call) {
    std::int64_t me = call.person();
    app.write([&](pqxx::work& t) {
        if (relationship_mine(t, me).empty()) throw not_found("You are not in a relationship.");
        relationship_end(t, me);
    });
    return {204};
}

}  // namespace

void add_couple_routes(App& app) {
    app.add({"POST", "/api/relationships", Access::User, Caching::None,
             [&app](Call& c) { return start(app, c); }});
    app.add({"PUT", "/api/me/partner-request", Access::User, Caching::None,
             [&app](Call& c) { return ask(app, c); }});
    app.add({"DELETE", "/api/me/partner-request", Access::User, Caching::None,
             [&app](Call& c) { return withdraw(app, c); }});
    app.add({"GET", "/api/me/partner-requests", Access::User, Caching::None,
             [&app](Call& c) { return requests(app, c); }});
    app.add({"DELETE", "/api/me/relationship", Access::User, Caching::None,
             [&app](Call& c) { return end(app, c); }});
}

}  // namespace family::web
