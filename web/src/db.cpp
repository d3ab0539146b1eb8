#include "db.hpp"

#include <cstdio>

#include "problem.hpp"

namespace family::web {

namespace {

// Every statement the service runs, prepared on each new connection.
const std::pair<const char*, const char*> kStatements[] = {
    {"account_by_email",
     "SELECT lower($1), a.person_id, a.password_hash"
     "  FROM (SELECT) AS one LEFT JOIN app.account AS a ON a.email = lower($1)"},
    {"account_add",
     "INSERT INTO app.account (person_id, email, password_hash, is_staff)"
     " VALUES ($1, lower($2), $3, $4)"},
    {"token_add",
     "INSERT INTO app.token (hash, person_id, expires_at)"
     " VALUES (decode($1, 'hex'), $2, now() + make_interval(secs => $3))"
     " RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"},
    {"token_caller",
     "SELECT t.person_id, a.is_staff, extract(epoch FROM t.expires_at - now())::float8"
     "  FROM app.token AS t JOIN app.account AS a USING (person_id)"
     " WHERE t.hash = decode($1, 'hex') AND t.expires_at > now()"},
    {"token_delete", "DELETE FROM app.token WHERE hash = decode($1, 'hex')"},
    // A password change: the account's row, kept until the change commits.
    {"account_of", "SELECT email, password_hash FROM app.account WHERE person_id = $1 FOR UPDATE"},
    {"password_set", "UPDATE app.account SET password_hash = $2 WHERE person_id = $1"},
    {"tokens_but", "DELETE FROM app.token WHERE person_id = $1 AND hash <> decode($2, 'hex')"},
    // A write's last notification (see Listener::marker).
    {"sync", "SELECT pg_notify('family_sync', $1)"},
    {"me",
     "SELECT app.person_json(person_id, person_id, is_staff), email, is_staff"
     "  FROM app.account WHERE person_id = $1"},
    // A person as viewer $2 (staff: $3) sees them, and whether another
    // viewer could see them otherwise (living, with a private field).
    {"person", "SELECT json, private FROM app.persons_json(ARRAY[$1::bigint], $2, $3)"},
    {"person_add", "SELECT family.add_person($1, $2)"},
    // The extension's API for changing and deleting persons (family_web has
    // no UPDATE or DELETE on family.person): $2, the columns to set as a
    // JSON object; $3, when not NULL, only a child of that parent.
    {"person_update", "SELECT family.update_person($1, $2::jsonb, $3)"},
    {"person_delete", "SELECT family.delete_person($1)"},
    // Every JSON body is compact, its fields in the order written
    // (row_to_json; lists joined with commas): the service sends it as is.
    {"line_page", "SELECT * FROM app.line_page($1, $2, $3, $4, $5, $6, $7, $8, $9)"},
    {"search_page", "SELECT * FROM app.search_page($1, $2, $3, $4, $5, $6, $7, $8)"},
    // A page of all persons as viewer $3 (staff: $4) sees them: at most $2
    // after id $1, the ids, the last one's id when more follow, and whether
    // another viewer could see the page otherwise.
    {"persons",
     "WITH page AS (SELECT id FROM family.person WHERE id > $1 ORDER BY id LIMIT $2 + 1),"
     "     shown AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM page)"
     "SELECT coalesce(string_agg(j.json, ',' ORDER BY j.id), ''),"
     "       coalesce(string_agg(j.id::text, ',' ORDER BY j.id), ''),"
     "       CASE WHEN min(shown.n) > $2 THEN max(j.id) END,"
     "       coalesce(bool_or(j.private), false)"
     "  FROM shown LEFT JOIN app.persons_json(shown.ids[1:$2], $3, $4) AS j ON true"},
    {"relationship_start", "SELECT family.start_relationship($1, $2)"},
    {"relationship",
     "SELECT row_to_json(j)::text"
     "  FROM (SELECT id, person_a, person_b, to_char(started_at AT TIME ZONE 'UTC',"
     "                 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS started_at"
     "          FROM family.relationship WHERE id = $1) AS j"},
    {"relationship_end", "SELECT family.end_relationship($1)"},
    // The caller's current relationship, locked: a concurrent end waits for
    // this transaction, or has ended it and it is not found.
    {"relationship_mine",
     "SELECT id FROM family.relationship"
     " WHERE ended_at IS NULL AND (person_a = $1 OR person_b = $1) FOR UPDATE"},
    // A couple's current relationship, kept from ending until commit.
    {"couple_lock",
     "SELECT 1 FROM family.relationship WHERE ended_at IS NULL"
     "   AND ((person_a = $1 AND person_b = $2) OR (person_a = $2 AND person_b = $1)) FOR SHARE"},
    // Two requests of one pair serialize on the pair's lock (a collision of
    // two pairs only makes them wait); the answer is whether the partner
    // exists (a delete of the partner in progress is waited for).
    {"partner_lock",
     "SELECT EXISTS (SELECT 1 FROM family.person WHERE id = $2 FOR KEY SHARE)"
     "  FROM pg_advisory_xact_lock(hashtextextended("
     "         least($1::bigint, $2::bigint) || ':' || greatest($1::bigint, $2::bigint), 0))"},
    // Requests lapse after 30 days; a relationship that starts answers them
    // all (a trigger of app.sql deletes them).
    {"partner_asked",
     "SELECT 1 FROM app.partner_request WHERE person_id = $2 AND partner_id = $1"
     "   AND created_at > now() - interval '30 days'"},
    // The requests a person received and the one they sent, still open.
    {"partner_requests_in",
     "SELECT '[' || coalesce(string_agg(app.person_json(person_id, $1, $2), ','"
     "                                   ORDER BY created_at, person_id), '') || ']'"
     "  FROM app.partner_request WHERE partner_id = $1 AND created_at > now() - interval '30 days'"},
    {"partner_request_out",
     "SELECT app.person_json(partner_id, $1, $2) FROM app.partner_request"
     " WHERE person_id = $1 AND created_at > now() - interval '30 days'"},
    // Withdraws a request; the answer says whether it was still open.
    {"partner_withdraw",
     "DELETE FROM app.partner_request WHERE person_id = $1"
     " RETURNING created_at > now() - interval '30 days'"},
    {"partner_ask",
     "INSERT INTO app.partner_request (person_id, partner_id) VALUES ($1, $2)"
     " ON CONFLICT (person_id) DO UPDATE SET partner_id = excluded.partner_id, created_at = now()"},
    // A page of a parent's children: at most $3 after id $2, the ids, and the
    // last one's id when more follow.
    {"children",
     "WITH page AS (SELECT id FROM family.person WHERE (father_id = $1 OR mother_id = $1)"
     "                 AND id > $2 ORDER BY id LIMIT $3 + 1),"
     "     shown AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM page)"
     "SELECT coalesce(string_agg(j.json, ',' ORDER BY j.id), ''),"
     "       coalesce(string_agg(j.id::text, ',' ORDER BY j.id), ''),"
     "       CASE WHEN min(shown.n) > $3 THEN max(j.id) END"
     "  FROM shown LEFT JOIN app.persons_json(shown.ids[1:$3], $1, $4) AS j ON true"},
    {"parents", "SELECT father_id, mother_id FROM family.person WHERE id = $1"},
    {"child_add", "SELECT family.add_child($1, $2, $3, $4, $5, $6)"},
};

bool retryable(const std::string& sqlstate) {
    return sqlstate == "40001" || sqlstate == "40P01";
}

}  // namespace

Pool::Pool(std::string dsn, std::size_t size, std::chrono::milliseconds wait)
    : dsn_(std::move(dsn)), size_(size), wait_(wait) {}

Pool::~Pool() = default;

std::unique_ptr<pqxx::connection> Pool::acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (idle_.empty() && open_ >= size_) {
        ++waits_;
        if (!freed_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < size_; })) {
            ++timeouts_;
            throw unavailable("All database connections are busy; retry.");
        }
    }
    ++in_use_;
    if (!idle_.empty()) {
        std::unique_ptr<pqxx::connection> c = std::move(idle_.back());
        idle_.pop_back();
        busy_.push_back(c.get());
        return c;
    }
    ++open_;
    lock.unlock();
    try {
        auto c = std::make_unique<pqxx::connection>(dsn_);
        for (const auto& [name, sql] : kStatements) c->prepare(name, sql);
        lock.lock();
        busy_.push_back(c.get());
        return c;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "family-web: cannot connect to the database: %s\n", e.what());
        lock.lock();
        --open_;
        --in_use_;
        ++connect_failures_;
        freed_.notify_one();
        throw unavailable("The database is unavailable; retry.");
    }
}

void Pool::release(std::unique_ptr<pqxx::connection> c, pqxx::connection* raw) {
    std::lock_guard<std::mutex> lock(mutex_);
    busy_.erase(std::find(busy_.begin(), busy_.end(), raw));
    --in_use_;
    if (c && c->is_open())
        idle_.push_back(std::move(c));
    else
        --open_;
    freed_.notify_one();
}

void Pool::transact(const std::function<void(pqxx::work&)>& body) {
    for (int attempt = 1;; ++attempt) {
        std::unique_ptr<pqxx::connection> c = acquire();
        pqxx::connection* raw = c.get();
        std::string sqlstate;
        try {
            pqxx::work txn(*c);
            body(txn);
            txn.commit();
            release(std::move(c), raw);
            return;
        } catch (const pqxx::broken_connection&) {
            // The server went away: release() drops a closed connection, and
            // the next attempt opens a fresh one.
            sqlstate = "08006";
        } catch (const pqxx::transaction_rollback&) {
            sqlstate = "40001";  // libpqxx 6 reports 40001 and 40P01 without an SQLSTATE
        } catch (const pqxx::sql_error& e) {
            sqlstate = e.sqlstate();
            if (!retryable(sqlstate) && from_sqlstate(sqlstate).status == 500)
                std::fprintf(stderr, "family-web: database error %s: %s\n", sqlstate.c_str(),
                             e.what());
        } catch (const pqxx::in_doubt_error&) {  // LCOV_EXCL_START: lost during COMMIT itself
            release(nullptr, raw);
            throw unavailable("The connection broke during commit; the change may have happened.");
        }  // LCOV_EXCL_STOP
        catch (...) {
            release(std::move(c), raw);
            throw;
        }
        release(std::move(c), raw);
        if (attempt == 3 || !(retryable(sqlstate) || sqlstate == "08006"))
            throw from_sqlstate(sqlstate);
        std::lock_guard<std::mutex> lock(mutex_);
        ++retries_;
    }
}

void Pool::cancel_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (pqxx::connection* c : busy_) c->cancel_query();
}

PoolStats Pool::stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {size_, open_, in_use_, waits_, timeouts_, connect_failures_, retries_};
}

std::string with_params(std::string dsn,
                        std::initializer_list<std::pair<const char*, const char*>> params) {
    bool uri = dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0;
    for (const auto& [key, value] : params) {
        if (uri)
            dsn += dsn.find('?') == std::string::npos ? "?" : "&";
        else if (!dsn.empty())
            dsn += " ";
        dsn += std::string(key) + "=" + value;
    }
    return dsn;
}

std::vector<std::int64_t> id_list(const std::string& csv) {
    std::vector<std::int64_t> ids;
    std::size_t start = 0;
    while (start < csv.size()) {
        std::size_t end = csv.find(',', start);
        if (end == std::string::npos) end = csv.size();
        ids.push_back(std::stoll(csv.substr(start, end - start)));
        start = end + 1;
    }
    return ids;
}

}  // namespace family::web
