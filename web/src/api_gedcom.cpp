// Real families in and out (SPEC 5b, 7): how two persons are related
// (family.kinship), a person's lines as a GEDCOM file (family.export_gedcom,
// with the privacy of the living), and a GEDCOM file imported by staff
// (family.import_gedcom).
#include <algorithm>
#include <atomic>
#include <cctype>

#include "app.hpp"

namespace family::web {

namespace {

// The first of $1, $2 that is no person.
const Statement missing_person{
    "missing_person",
    "SELECT x FROM unnest(ARRAY[$1::bigint, $2::bigint]) AS x"
    " WHERE NOT EXISTS (SELECT 1 FROM family.person AS p WHERE p.id = x) LIMIT 1"};
// Each nearest common ancestor as viewer $3 (staff: $4) sees them, nearest
// first, and the term: without the sex it tells when the viewer may not
// see $2's (privacy of the living, as app.persons_json decides).
const Statement kinship{
    "kinship",
    "WITH k AS MATERIALIZED (SELECT * FROM family.kinship($1, $2)),"
    "     hide AS (SELECT NOT $4 AND p.death_date IS NULL AND p.sex IS NOT NULL"
    "                     AND NOT app.related($3, p.id) AS sex"
    "                FROM family.person AS p WHERE p.id = $2)"
    "SELECT coalesce(string_agg('{\"ancestor\":' || j.json || ',\"up\":' || k.up || ',\"down\":'"
    "                           || k.down || ',\"term\":' || to_json(CASE WHEN hide.sex"
    "                           THEN app.neutral_term(k.term) ELSE k.term END)::text || '}', ','"
    "                           ORDER BY k.up + k.down, k.ancestor), '')"
    "  FROM k JOIN app.persons_json(ARRAY(SELECT ancestor FROM k), $3, $4) AS j"
    "    ON j.id = k.ancestor CROSS JOIN hide"};
const Statement gedcom_export{"gedcom_export", "SELECT * FROM app.gedcom_export($1, $2, $3, $4, $5)"};

// Imports running at once: each holds its file, and more wait for none.
constexpr int kMaxImports = 2;
std::atomic<int> importing{0};
const Statement gedcom_import{"gedcom_import", "SELECT family.import_gedcom($1)"};
const Statement gedcom_imported{
    "gedcom_imported",
    "SELECT row_to_json(j)::text"
    "  FROM (SELECT g.id AS import_id, g.persons, g.relationships, g.parent_links,"
    "               coalesce((SELECT json_agg((SELECT row_to_json(x) FROM (SELECT i.line, i.xref,"
    "                                                i.severity, i.message) AS x) ORDER BY i.line, i.at)"
    "                           FROM (SELECT s.line, s.xref, s.severity, s.message, s.ctid AS at"
    "                                   FROM family.gedcom_issue AS s WHERE s.import_id = g.id"
    "                                  ORDER BY s.line, s.ctid LIMIT 100) AS i), '[]') AS issues,"
    "               g.issues AS issues_total"
    "          FROM family.gedcom_import AS g WHERE g.id = $1) AS j"};

// A GEDCOM file of up to 64 MiB imports in seconds; a statement of the
// service's role otherwise ends after 30 (sql/app.sql).
constexpr const char* kImportTimeout = "SET LOCAL statement_timeout = '10min'";

Reply relation(App& app, Call& call) {
    std::int64_t a = call.id(0), b = call.id(1);
    Reply reply;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result missing = missing_person(t, a, b);
        if (!missing.empty()) throw not_found("No person " + std::string(missing[0][0].c_str()) + ".");
        pqxx::row r = kinship.one(t, a, b, call.user().person_id, call.user().is_staff);
        reply.body = std::string("{\"relations\":[") + r[0].c_str() + "]}";
    });
    return reply;
}

Reply gedcom(App& app, Call& call) {
    std::int64_t id = call.id();
    std::optional<int> depth;
    if (std::optional<std::string> d = call.query("depth")) {
        std::optional<std::int64_t> n = *d == "0" ? 0 : positive_integer(*d);
        if (!n || *n > 100000) throw invalid("depth must be an integer from 0 to 100000.");
        depth = static_cast<int>(*n);
    }
    // Staff export what they like; others a file of so many persons at most.
    std::optional<int> most;
    if (!call.user().is_staff) most = app.config.gedcom_persons;
    Reply reply;
    app.pool.transact([&](pqxx::work& t) {
        pqxx::result r = gedcom_export(t, id, depth, call.user().person_id, call.user().is_staff, most);
        if (r.empty()) throw not_found("No person " + std::to_string(id) + ".");
        if (r[0][0].is_null())
            throw invalid("The file would hold " + std::string(r[0][1].c_str()) +
                          " persons, more than " + std::to_string(*most) +
                          ": ask for fewer generations (depth).");
        reply.body = r[0][0].c_str();
    });
    reply.content_type = "text/vnd.familysearch.gedcom";
    reply.headers.push_back(
        {"Content-Disposition", "attachment; filename=\"family-" + std::to_string(id) + ".ged\""});
    return reply;
}

// Content-Type without its parameters, lower case.
std::string media_type(const std::optional<std::string>& header) {
    std::string t = header.value_or("");
    t = t.substr(0, t.find(';'));
    while (!t.empty() && t.back() == ' ') t.pop_back();
    std::transform(t.begin(), t.end(), t.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return t;
}

Reply import(App& app, Call& call) {
    call.staff();
    std::string type = media_type(call.request.header("Content-Type"));
    if (type != "text/vnd.familysearch.gedcom" && type != "application/x-gedcom" &&
        type != "text/plain" && type != "application/octet-stream")
        throw Problem(415, "Unsupported Media Type",
                      "Send the GEDCOM file as the body, with a Content-Type of "
                      "text/vnd.familysearch.gedcom, application/x-gedcom, text/plain or "
                      "application/octet-stream.");
    const std::string& file = call.request.body();
    if (file.empty()) throw invalid("The body is the GEDCOM file, and it is empty.");
    struct Slot {
        Slot() {
            if (++importing > kMaxImports) {
                --importing;
                throw unavailable("Two imports are running; retry when one has ended.");
            }
        }
        ~Slot() { --importing; }
    } slot;
    Reply reply;
    app.write([&](pqxx::work& t) {
        t.exec(kImportTimeout);
        std::int64_t id = 0;
        try {
            id = gedcom_import.one(t, pqxx::binarystring(file.data(), file.size()))[0].as<std::int64_t>();
        } catch (const pqxx::sql_error& e) {
            if (e.sqlstate() != "22P02") throw;
            // Our own words on where the file stops being GEDCOM: the line.
            std::string why = e.what();
            std::size_t at = why.find("nothing imported: ");
            why = at == std::string::npos ? "" : ": " + why.substr(at + 18, why.find('\n', at) - at - 18);
            throw invalid("The file is not GEDCOM; nothing was imported" + why);
        }
        reply.body = gedcom_imported.one(t, id)[0].c_str();
    });
    reply.status = 201;
    return reply;
}

}  // namespace

void add_gedcom_routes(App& app) {
    // Not cached: kinship and a file depend on a whole ancestry.
    app.add({"GET", "/api/persons/{id}/kinship/{other}", Access::User, Caching::None,
             [&app](Call& c) { return relation(app, c); }});
    app.add({"GET", "/api/persons/{id}/gedcom", Access::User, Caching::None,
             [&app](Call& c) { return gedcom(app, c); }});
    Route imports{"POST", "/api/imports", Access::User, Caching::None,
                  [&app](Call& c) { return import(app, c); }};
    imports.max_body = static_cast<std::size_t>(app.config.import_mb) << 20;
    app.add(std::move(imports));
}

}  // namespace family::web
