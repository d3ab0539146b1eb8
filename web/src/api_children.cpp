// /api/children: a user's own children. Only a parent adds or edits a child,
// and a child's parents are the caller and the caller's current partner.
#include "app.hpp"

namespace family::web {

namespace {

constexpr std::size_t kNameChars = 200;

// A page of a parent's children: at most $3 after id $2, the ids, and the
// last one's id when more follow.
const Statement children{
    "children",
    "WITH page AS (SELECT id FROM family.person WHERE (father_id = $1 OR mother_id = $1)"
    "                 AND id > $2 ORDER BY id LIMIT $3 + 1),"
    "     shown AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM page)"
    "SELECT coalesce(string_agg(j.json, ',' ORDER BY j.id), ''),"
    "       coalesce(string_agg(j.id::text, ',' ORDER BY j.id), ''),"
    "       CASE WHEN min(shown.n) > $3 THEN max(j.id) END"
    "  FROM shown LEFT JOIN app.persons_json(shown.ids[1:$3], $1, $4) AS j ON true"};
const Statement parents{"parents", "SELECT father_id, mother_id FROM family.person WHERE id = $1"};
// A couple's current relationship, kept from ending until commit.
const Statement couple_lock{
    "couple_lock",
    "SELECT 1 FROM family.relationship WHERE ended_at IS NULL"
    "   AND ((person_a = $1 AND person_b = $2) OR (person_a = $2 AND person_b = $1)) FOR SHARE"};
const Statement child_add{"child_add", "SELECT family.add_child($1, $2, $3, $4, $5, $6)"};

// A page of the caller's children by id; a cursor: the last id.
Reply list(App& app, Call& call) {
    std::int64_t me = call.person();
    PageQuery page = call.page('C', 1);
    std::int64_t after = page.after.empty() ? 0 : page.number(0);
    Reply reply;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::row r = children.one(t, me, after, page.limit, call.user().is_staff);
        std::optional<std::string> next;
        if (!r[2].is_null()) next = make_cursor('C', {r[2].c_str()});
        reply = page_reply(call, r[0].c_str(), next);
        reply.persons = id_list(r[1].c_str());
        reply.persons.push_back(me);
    });
    return reply;
}

// 404 for an unknown person, 403 unless the caller is a parent.
void require_parent(pqxx::work& t, std::int64_t child, std::int64_t me) {
    pqxx::result r = parents(t, child);
    if (r.empty()) throw not_found("No person " + std::to_string(child) + ".");
    if ((r[0][0].is_null() || r[0][0].as<std::int64_t>() != me) &&
        (r[0][1].is_null() || r[0][1].as<std::int64_t>() != me))
        throw forbidden("Only a parent may see or change a child.");
}

Reply get(App& app, Call& call) {
    std::int64_t me = call.person(), id = call.id();
    Reply reply;
    app.pool.transact([&](pqxx::work& t) {
        require_parent(t, id, me);
        reply = person_reply(t, id, call.user());
    });
    return reply;
}

Reply add(App& app, Call& call) {
    std::int64_t me = call.person();
    Body body = call.body(
        {"first_name", "last_name", "father_id", "mother_id", "father_rank", "mother_rank"});
    std::string first = body.text("first_name", kNameChars).value_or("");
    std::string last = body.text("last_name", kNameChars).value_or("");
    std::int64_t father = Body::required(body.id("father_id"), "father_id");
    std::int64_t mother = Body::required(body.id("mother_id"), "mother_id");
    int father_rank = Body::required(body.rank("father_rank"), "father_rank");
    int mother_rank = Body::required(body.rank("mother_rank"), "mother_rank");
    if (father != me && mother != me)
        throw forbidden("You may add only your own children: father_id or mother_id is you.");
    Reply reply;
    app.write([&](pqxx::work& t) {
        // Locked: the relationship cannot end before the child is added.
        if (couple_lock(t, father, mother).empty())
            throw forbidden("The other parent must be your current partner.");
        std::int64_t id = child_add.one(t, father, mother, father_rank, mother_rank, first, last)[0]
                              .as<std::int64_t>();
        reply = person_reply(t, id, call.user(), 201);
    });
    return reply;
}

Reply edit(App& app, Call& call) {
    std::int64_t me = call.person(), id = call.id();
    Body body = call.body({"first_name", "last_name", "father_rank", "mother_rank"});
    nlohmann::json changes = nlohmann::json::object();
    for (const char* f : {"first_name", "last_name"})
        if (std::optional<std::string> v = body.text(f, kNameChars)) changes[f] = *v;
    for (const char* f : {"father_rank", "mother_rank"})
        if (std::optional<int> v = body.rank(f)) changes[f] = *v;
    Reply reply;
    app.write([&](pqxx::work& t) {
        // Changed only while the caller is a parent, as the row is when
        // written (a concurrent relink is waited for, then seen).
        if (!person_update.one(t, id, changes.dump(), me)[0].as<bool>())
            require_parent(t, id, me);  // says 404 or 403
        reply = person_reply(t, id, call.user());
    });
    return reply;
}

}  // namespace

void add_children_routes(App& app) {
    app.add({"GET", "/api/children", Access::User, Caching::PerUser,
             [&app](Call& c) { return list(app, c); }});
    app.add({"GET", "/api/children/{id}", Access::User, Caching::PerUser,
             [&app](Call& c) { return get(app, c); }});
    app.add({"POST", "/api/children", Access::User, Caching::None,
             [&app](Call& c) { return add(app, c); }});
    app.add({"PATCH", "/api/children/{id}", Access::User, Caching::None,
             [&app](Call& c) { return edit(app, c); }});
}

}  // namespace family::web
