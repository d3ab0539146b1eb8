// A check worker of the consistency check (SPEC section 6): takes slices of
// persons (by id) from the segment's shared counter and checks each person
// against its parents' stored values, and the relationships of the slice,
// one REPEATABLE READ transaction per slice; what it finds goes to
// family.check_finding, what it counted to its slot in the segment.
#include "check_shared.hpp"

extern "C" {
#include "tcop/tcopprot.h"
}

#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "check.hpp"
#include "rules.hpp"

namespace family::pg::consistency {

// A slice's findings, in one statement.
void insert_findings(int64 run_id, const std::vector<check::Finding>& findings) {
    static Statement insert(
        "INSERT INTO family.check_finding (run_id, person_id, kind, expected, actual,"
        "                                  relationship_id)"
        " SELECT $1, p, k, e, a, nullif(r, 0)"
        "   FROM unnest($2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[])"
        "        AS f(p, k, e, a, r)",
        {INT8OID, INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID});
    if (findings.empty()) return;
    std::vector<int64> ids, relationships;
    std::vector<std::string> kinds, expected, actual;
    for (const check::Finding& f : findings) {
        ids.push_back(f.person);
        kinds.push_back(f.kind);
        expected.push_back(f.expected);
        actual.push_back(f.actual);
        relationships.push_back(f.relationship.value_or(0));
    }
    insert.run({Int64GetDatum(run_id), int64_array(ids), text_array(kinds), text_array(expected),
                text_array(actual), int64_array(relationships)});
}

// The relationships whose person_a is from lo to hi (each is checked once,
// by the slice of its person_a), in the slice's transaction: whether the
// persons they name exist, and every current relationship of the persons of
// their current ones. Returns how many there were.
int64 check_relationships_of(int64 lo, int64 hi, std::vector<check::Finding>& findings) {
    static Statement relationships(
        "SELECT id, person_a, person_b, (ended_at IS NULL)::int4 FROM family.relationship"
        " WHERE person_a BETWEEN $1 AND $2",
        {INT8OID, INT8OID});
    static Statement existing("SELECT id FROM family.person WHERE id = ANY ($1)",
                              {INT8ARRAYOID});
    static Statement current(
        "SELECT person_a, id FROM family.relationship"
        " WHERE ended_at IS NULL AND person_a = ANY ($1)"
        " UNION ALL "
        "SELECT person_b, id FROM family.relationship"
        " WHERE ended_at IS NULL AND person_b = ANY ($1)",
        {INT8ARRAYOID});
    uint64 n = relationships.run({Int64GetDatum(lo), Int64GetDatum(hi)});
    std::vector<check::StoredRelationship> slice(n);
    std::vector<int64> named, in_current;
    for (uint64 i = 0; i < n; ++i) {
        check::StoredRelationship& r = slice[i];
        r.id = *col_int64(i, 1);
        r.a = *col_int64(i, 2);
        r.b = *col_int64(i, 3);
        r.current = *col_int64(i, 4) == 1;
        named.insert(named.end(), {r.a, r.b});
        if (r.current) in_current.insert(in_current.end(), {r.a, r.b});
    }
    std::set<PersonId> found;
    n = existing.run({int64_array(named)});
    for (uint64 i = 0; i < n; ++i) found.insert(*col_int64(i, 1));
    std::map<PersonId, std::vector<std::int64_t>> of;
    n = current.run({int64_array(in_current)});
    for (uint64 i = 0; i < n; ++i) of[*col_int64(i, 1)].push_back(*col_int64(i, 2));
    for (auto& entry : of) std::sort(entry.second.begin(), entry.second.end());
    check::check_relationships(slice, found, of, findings);
    return static_cast<int64>(slice.size());
}

// Checks persons lo..hi in one REPEATABLE READ transaction: the persons,
// then their parents (each once: siblings share them), then their couples
// (each once), all as of one snapshot.
void check_slice(Shared* sh, WorkerSlot& me, int number, int64 lo, int64 hi) {
    static Statement persons(
        "SELECT id, father_id, mother_id, father_rank, mother_rank, generation,"
        "       ancestor_relationship_rank, link_rank_sums, link_counts"
        "  FROM family.person WHERE id BETWEEN $1 AND $2",
        {INT8OID, INT8OID});
    static Statement parents(
        "SELECT id, generation, link_rank_sums, link_counts FROM family.person"
        " WHERE id = ANY ($1)",
        {INT8ARRAYOID});
    static Statement couples(
        "SELECT c.a, c.b FROM unnest($1::int8[], $2::int8[]) AS c(a, b)"
        " WHERE EXISTS (SELECT FROM family.relationship r"
        "                WHERE least(r.person_a, r.person_b) = c.a"
        "                  AND greatest(r.person_a, r.person_b) = c.b)",
        {INT8ARRAYOID, INT8ARRAYOID});
    char activity[128];
    std::snprintf(activity, sizeof activity, "family consistency check: persons %ld to %ld",
                  static_cast<long>(lo), static_cast<long>(hi));
    std::vector<check::StoredPerson> slice;
    std::vector<check::Finding> findings;
    int64 relationships = 0;
    transaction(activity, Isolation::RepeatableRead, [&] {
        uint64 n = persons.run({Int64GetDatum(lo), Int64GetDatum(hi)});
        slice.resize(n);
        std::vector<int64> parent_ids;
        std::vector<std::pair<int64, int64>> couple_ids;
        for (uint64 i = 0; i < n; ++i) {
            check::StoredPerson& p = slice[i];
            p.id = *col_int64(i, 1);
            p.father = col_int64(i, 2);
            p.mother = col_int64(i, 3);
            if (auto r = col_int64(i, 4)) p.father_rank = static_cast<int>(*r);
            if (auto r = col_int64(i, 5)) p.mother_rank = static_cast<int>(*r);
            p.generation = static_cast<int>(*col_int64(i, 6));
            p.rank = col_float8(i, 7);
            p.ranks = col_ranks(i, 8, 9);
            for (const auto& parent : {p.father, p.mother})
                if (parent) parent_ids.push_back(*parent);
            if (p.father && p.mother)
                couple_ids.push_back(rules::couple_of(*p.father, *p.mother));
        }
        std::sort(parent_ids.begin(), parent_ids.end());
        parent_ids.erase(std::unique(parent_ids.begin(), parent_ids.end()), parent_ids.end());
        std::sort(couple_ids.begin(), couple_ids.end());
        couple_ids.erase(std::unique(couple_ids.begin(), couple_ids.end()), couple_ids.end());

        std::unordered_map<int64, check::StoredParent> rows;
        n = parents.run({int64_array(parent_ids)});
        rows.reserve(n);
        for (uint64 i = 0; i < n; ++i)
            rows[*col_int64(i, 1)] = {static_cast<int>(*col_int64(i, 2)), col_ranks(i, 3, 4)};

        std::vector<int64> a, b;
        for (const auto& [x, y] : couple_ids) {
            a.push_back(x);
            b.push_back(y);
        }
        n = couples.run({int64_array(a), int64_array(b)});
        std::set<std::pair<int64, int64>> known;
        for (uint64 i = 0; i < n; ++i) known.emplace(*col_int64(i, 1), *col_int64(i, 2));

        auto row = [&](const std::optional<int64>& id) -> const check::StoredParent* {
            if (!id) return nullptr;
            auto it = rows.find(*id);
            return it == rows.end() ? nullptr : &it->second;
        };
        for (check::StoredPerson& p : slice) {
            p.father_row = row(p.father);
            p.mother_row = row(p.mother);
            p.couple =
                !(p.father && p.mother) || known.count(rules::couple_of(*p.father, *p.mother));
            check::check_person(p, findings);
        }
        if ((sh->inject == kInjectError || sh->inject == kInjectException) && number == 0 &&
            me.slices == 0) {
            if (sh->inject == kInjectError)
                call([] {
                    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                                    errmsg("family.check_inject: error injected in worker 0")));
                });
            else
                throw std::logic_error("family.check_inject: exception injected in worker 0");
        }
        // The first and the last slice also take the relationships whose
        // person_a is below or above every person's id (a dangling one).
        relationships = check_relationships_of(lo == sh->first_id ? PG_INT64_MIN : lo,
                                               hi >= sh->last_id ? PG_INT64_MAX : hi, findings);
        insert_findings(sh->run_id, findings);
    });
    me.persons += static_cast<int64>(slice.size());
    me.relationships += relationships;
    me.findings += static_cast<int64>(findings.size());
    me.slices += 1;
}

void run_worker(Shared* sh, int number) {
    WorkerSlot& me = sh->workers[number];
    me.pid = MyProcPid;
    me.started = GetCurrentTimestamp();
    me.state = kRunning;
    try {
        for (;;) {
            uint64 s = pg_atomic_fetch_add_u64(&sh->next_slice, 1);
            int64 lo = sh->first_id + static_cast<int64>(s) * sh->slice;
            if (lo > sh->last_id) break;
            check_slice(sh, me, number, lo, std::min(sh->last_id, lo + sh->slice - 1));
        }
        me.state = kDone;
    } catch (...) {
        record_exception(me.error);
        abort_transaction();
        me.state = kFailed;
    }
    me.finished = GetCurrentTimestamp();
}

}  // namespace family::pg::consistency

using namespace family::pg;
using namespace family::pg::consistency;

extern "C" {
PGDLLEXPORT void family_check_worker(Datum arg);

void family_check_worker(Datum arg) {
    run_process(arg, die, [](Shared* sh, Datum) { run_worker(sh, worker_number()); });
}
}
