// /api/persons: staff create, change and delete persons; every authenticated
// user reads them and their lines.
#include "app.hpp"

namespace family::web {

namespace {

constexpr std::size_t kNameChars = 200;

const Statement person_add{"person_add", "SELECT family.add_person($1, $2)"};
const Statement account_add{"account_add",
                            "INSERT INTO app.account (person_id, email, password_hash, is_staff)"
                            " VALUES ($1, lower($2), $3, $4)"};
const Statement person_delete{"person_delete", "SELECT family.delete_person($1)"};
// A person as viewer $2 (staff: $3) sees them, and whether another viewer
// could see them otherwise (living, with a private field).
const Statement person{"person",
                       "SELECT json, private FROM app.persons_json(ARRAY[$1::bigint], $2, $3)"};
// Every JSON body is compact, its fields in the order written (row_to_json;
// lists joined with commas): the service sends it as is.
const Statement line_page{"line_page",
                          "SELECT * FROM app.line_page($1, $2, $3, $4, $5, $6, $7, $8, $9)"};
const Statement search_page{"search_page",
                            "SELECT * FROM app.search_page($1, $2, $3, $4, $5, $6, $7, $8)"};
// A page of all persons as viewer $3 (staff: $4) sees them: at most $2
// after id $1, the ids, the last one's id when more follow, and whether
// another viewer could see the page otherwise.
const Statement persons{
    "persons",
    "WITH page AS (SELECT id FROM family.person WHERE id > $1 ORDER BY id LIMIT $2 + 1),"
    "     shown AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM page)"
    "SELECT coalesce(string_agg(j.json, ',' ORDER BY j.id), ''),"
    "       coalesce(string_agg(j.id::text, ',' ORDER BY j.id), ''),"
    "       CASE WHEN min(shown.n) > $2 THEN max(j.id) END,"
    "       coalesce(bool_or(j.private), false)"
    "  FROM shown LEFT JOIN app.persons_json(shown.ids[1:$2], $3, $4) AS j ON true"};

// The genealogy fields of SPEC 2 a body may hold: each given one goes into
// `changes` (null clears it, where clearing is allowed).
constexpr std::initializer_list<const char*> kGenealogy = {"sex", "birth_date", "birth_place",
                                                           "death_date", "death_place"};

void genealogy(const Body& body, nlohmann::json& changes) {
    for (const char* f : kGenealogy) {
        if (!body.has(f)) continue;
        if (body.is_null(f))
            changes[f] = nullptr;
        else if (std::string_view(f) == "sex")
            changes[f] = *body.sex(f);
        else if (std::string_view(f).find("date") != std::string_view::npos)
            changes[f] = *body.date(f);
        else
            changes[f] = *body.text(f, kNameChars);
    }
}

Reply create(App& app, Call& call) {
    call.staff();
    Body body = call.body({"first_name", "last_name", "sex", "birth_date", "birth_place",
                           "death_date", "death_place", "account"});
    std::string first = body.text("first_name", kNameChars).value_or("");
    std::string last = body.text("last_name", kNameChars).value_or("");
    nlohmann::json changes = nlohmann::json::object();
    genealogy(body, changes);
    std::optional<Body> account = body.object("account", {"email", "password", "is_staff"});
    std::string email, hash;
    bool is_staff = false;
    if (account) {
        email = Body::required(account->text("email", 254), "email");
        std::string password = Body::required(account->text("password", 1024), "password");
        if (password.size() < 8) throw invalid("A password has at least 8 characters.");
        is_staff = account->flag("is_staff").value_or(false);
        // Slow on purpose: outside the transaction, in a hash slot.
        app.hash([&] { hash = hash_password(password); });
    }
    Reply reply;
    app.write([&](pqxx::work& t) {
        std::int64_t id = person_add.one(t, first, last)[0].as<std::int64_t>();
        if (!changes.empty()) person_update(t, id, changes.dump(), nullptr);
        if (account) account_add(t, id, email, hash, is_staff);
        reply = person_reply(t, id, call.user(), 201);
    });
    return reply;
}

// GET /api/persons: with ?q=, the persons whose names match, best first
// (app.search_page in sql/app.sql; a cursor: tier, last name, first name,
// id); without, every person by id (a cursor: the last id).
Reply list(App& app, Call& call) {
    std::optional<std::string> q = call.query("q");
    Reply reply;
    if (!q) {
        PageQuery page = call.page('P', 1);
        std::int64_t after = page.after.empty() ? 0 : page.number(0);
        app.pool.transact([&](pqxx::work& t) {
            pqxx::row r =
                persons.one(t, after, page.limit, call.user().person_id, call.user().is_staff);
            std::optional<std::string> next;
            if (!r[2].is_null()) next = make_cursor('P', {r[2].c_str()});
            reply = page_reply(call, r[0].c_str(), next);
            reply.per_viewer = r[3].as<bool>();
            reply.persons = id_list(r[1].c_str());
        });
        return reply;
    }
    if (q->size() > 4 * kNameChars) throw invalid("q holds at most 800 bytes.");
    PageQuery page = call.page('S', 4);
    std::optional<std::string> tier, last, first, after;
    if (!page.after.empty()) {
        tier = std::to_string(page.number(0));
        if (*tier != "1" && *tier != "2") throw invalid("cursor is not one this list gave.");
        last = page.after[1];
        first = page.after[2];
        after = std::to_string(page.number(3));
    }
    app.pool.transact([&](pqxx::work& t) {
        pqxx::row r = search_page.one(t, *q, tier, last, first, after, page.limit,
                                      call.user().person_id, call.user().is_staff);
        if (r[0].is_null()) throw invalid("q holds no word to search for.");
        std::optional<std::string> next;
        if (!r[2].is_null())
            next = make_cursor('S', {r[2].c_str(), r[3].c_str(), r[4].c_str(), r[5].c_str()});
        reply = page_reply(call, r[0].c_str(), next);
        reply.persons = id_list(r[1].c_str());
        reply.per_viewer = r[6].as<bool>();
    });
    return reply;
}

Reply get(App& app, Call& call) {
    std::int64_t id = call.id();
    Reply reply;
    app.pool.transact([&](pqxx::work& t) { reply = person_reply(t, id, call.user()); });
    return reply;
}

Reply update(App& app, Call& call) {
    call.staff();
    std::int64_t id = call.id();
    Body body =
        call.body({"first_name", "last_name", "sex", "birth_date", "birth_place", "death_date",
                   "death_place", "father_id", "mother_id", "father_rank", "mother_rank"});
    // A parent (and its rank) may be cleared with null; a name may not.
    nlohmann::json changes = nlohmann::json::object();
    for (const char* f : {"first_name", "last_name"})
        if (std::optional<std::string> v = body.text(f, kNameChars)) changes[f] = *v;
    genealogy(body, changes);
    for (const char* f : {"father_id", "mother_id"})
        if (body.has(f))
            changes[f] = body.is_null(f) ? nlohmann::json() : nlohmann::json(*body.id(f));
    for (const char* f : {"father_rank", "mother_rank"})
        if (body.has(f))
            changes[f] = body.is_null(f) ? nlohmann::json() : nlohmann::json(*body.rank(f));
    Reply reply;
    app.write([&](pqxx::work& t) {
        if (!person_update.one(t, id, changes.dump(), nullptr)[0].as<bool>())
            throw not_found("No person " + std::to_string(id) + ".");
        reply = person_reply(t, id, call.user());
    });
    return reply;
}

Reply remove(App& app, Call& call) {
    call.staff();
    std::int64_t id = call.id();
    app.write([&](pqxx::work& t) {
        if (!person_delete.one(t, id)[0].as<bool>())
            throw not_found("No person " + std::to_string(id) + ".");
    });
    return {204};
}

// Ancestors or descendants, each once at its smallest depth, a page at a
// time in the order (depth, id) (app.line_page in sql/app.sql). A cursor:
// the walk, then the depth and id of the last item.
Reply lineage(App& app, Call& call, bool up) {
    std::int64_t id = call.id();
    std::optional<std::int64_t> depth;
    if (std::optional<std::string> d = call.query("depth")) {
        std::optional<std::int64_t> n = positive_integer(*d);
        if (!n || *n > 100000) throw invalid("depth must be an integer from 1 to 100000.");
        depth = *n;
    }
    PageQuery page = call.page('L', 3);
    std::optional<std::int64_t> walk, after_depth, after_id;
    if (!page.after.empty()) {
        walk = page.number(0);
        after_depth = page.number(1);
        after_id = page.number(2);
    }
    Reply reply;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::row r = line_page.one(t, id, up, depth, walk, after_depth, after_id, page.limit,
                                    call.user().person_id, call.user().is_staff);
        if (r[0].is_null()) throw not_found("No person " + std::to_string(id) + ".");
        std::optional<std::string> next;
        if (!r[3].is_null()) next = make_cursor('L', {r[0].c_str(), r[3].c_str(), r[4].c_str()});
        reply = page_reply(call, r[1].is_null() ? "" : r[1].c_str(), next);
        reply.persons = id_list(r[2].is_null() ? "" : r[2].c_str());
        reply.persons.push_back(id);
        reply.per_viewer = r[5].as<bool>();
    });
    return reply;
}

}  // namespace

const Statement person_update{"person_update", "SELECT family.update_person($1, $2::jsonb, $3)"};

Reply person_reply(pqxx::work& t, std::int64_t id, const Caller& viewer, int status) {
    pqxx::result found = person(t, id, viewer.person_id, viewer.is_staff);
    if (found.empty()) throw not_found("No person " + std::to_string(id) + ".");
    Reply r;
    r.status = status;
    r.body = found[0][0].c_str();
    r.per_viewer = found[0][1].as<bool>();
    r.persons = {id};
    if (status == 201) r.location = "/api/persons/" + std::to_string(id);
    return r;
}

void add_person_routes(App& app) {
    app.add({"POST", "/api/persons", Access::User, Caching::None,
             [&app](Call& c) { return create(app, c); }});
    // Not cached: any person added or renamed may change a search.
    app.add({"GET", "/api/persons", Access::User, Caching::None,
             [&app](Call& c) { return list(app, c); }});
    app.add({"GET", "/api/persons/{id}", Access::User, Caching::Shared,
             [&app](Call& c) { return get(app, c); }});
    app.add({"PATCH", "/api/persons/{id}", Access::User, Caching::None,
             [&app](Call& c) { return update(app, c); }});
    app.add({"DELETE", "/api/persons/{id}", Access::User, Caching::None,
             [&app](Call& c) { return remove(app, c); }});
    app.add({"GET", "/api/persons/{id}/ancestors", Access::User, Caching::Shared,
             [&app](Call& c) { return lineage(app, c, true); }});
    app.add({"GET", "/api/persons/{id}/descendants", Access::User, Caching::Shared,
             [&app](Call& c) { return lineage(app, c, false); }});
}

}  // namespace family::web
