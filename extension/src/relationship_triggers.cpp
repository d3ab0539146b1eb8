// Triggers on family.relationship: at most one current relationship per
// person (FA003), and no deletion of the relationship that makes a couple's
// children valid (FA002).
//
// Both rules read rows another transaction may be writing, so they take row
// locks first (the two persons, or the deleted relationship) and then read on
// a fresh snapshot: what committed while we waited counts, at every isolation
// level.
#include "pg.hpp"

namespace family::pg {
namespace {

struct RelationshipColumns {
    int id, person_a, person_b, started_at, ended_at;
    explicit RelationshipColumns(TupleDesc d)
        : id(SPI_fnumber(d, "id")),
          person_a(SPI_fnumber(d, "person_a")),
          person_b(SPI_fnumber(d, "person_b")),
          started_at(SPI_fnumber(d, "started_at")),
          ended_at(SPI_fnumber(d, "ended_at")) {}
};

struct Relationship {
    int64 id, a, b;
    bool complete;  // both persons and started_at given: else NOT NULL speaks
    bool current;
    TimestampTz started_at, ended_at;
};

Relationship read(HeapTuple t, TupleDesc d) {
    RelationshipColumns c(d);
    bool id_null = false, a_null = false, b_null = false, start_null = false, end_null = false;
    Relationship r{};
    r.id = DatumGetInt64(heap_getattr(t, c.id, d, &id_null));
    r.a = DatumGetInt64(heap_getattr(t, c.person_a, d, &a_null));
    r.b = DatumGetInt64(heap_getattr(t, c.person_b, d, &b_null));
    r.started_at = DatumGetTimestampTz(heap_getattr(t, c.started_at, d, &start_null));
    r.ended_at = DatumGetTimestampTz(heap_getattr(t, c.ended_at, d, &end_null));
    r.complete = !(id_null || a_null || b_null || start_null);
    r.current = end_null;
    return r;
}

std::string name(const Relationship& r) {
    return "relationship " + std::to_string(r.id);
}

void check_one_current(const Relationship& r) {
    static Statement lock(
        "SELECT id FROM family.person WHERE id IN ($1, $2) ORDER BY id FOR NO KEY UPDATE",
        {INT8OID, INT8OID});
    static Statement current(
        "SELECT id, person_a, person_b FROM family.relationship"
        " WHERE ended_at IS NULL AND id <> $3"
        "   AND (person_a IN ($1, $2) OR person_b IN ($1, $2)) LIMIT 1",
        {INT8OID, INT8OID, INT8OID});
    uint64 n = lock.run({Int64GetDatum(r.a), Int64GetDatum(r.b)});
    if (n < 2) {
        int64 missing = n == 1 && *col_int64(0, 1) == r.a ? r.b : r.a;
        fail("23503", name(r) + ": person " + std::to_string(missing) + " does not exist");
    }
    if (current.run({Int64GetDatum(r.a), Int64GetDatum(r.b), Int64GetDatum(r.id)},
                    Statement::Reads::Latest) > 0) {
        int64 other = *col_int64(0, 1), pa = *col_int64(0, 2), pb = *col_int64(0, 3);
        int64 busy = (pa == r.a || pb == r.a) ? r.a : r.b;
        fail("FA003",
             name(r) + ": person " + std::to_string(busy) + " is already in relationship " +
                 std::to_string(other) + " (persons " + std::to_string(pa) + " and " +
                 std::to_string(pb) + ")",
             "A person has at most one current relationship: end it first.");
    }
}

void before_write(TriggerData* td) {
    TupleDesc d = td->tg_relation->rd_att;
    bool insert = TRIGGER_FIRED_BY_INSERT(td->tg_event);
    Relationship r = read(insert ? td->tg_trigtuple : td->tg_newtuple, d);
    if (!r.complete) return;
    if (!r.current && r.ended_at < r.started_at) {
        // timestamptz_to_str returns a static buffer: copy each result at once.
        std::string ended = timestamptz_to_str(r.ended_at);
        std::string started = timestamptz_to_str(r.started_at);
        fail("23514", name(r) + " cannot end (" + ended + ") before it started (" + started + ")");
    }
    if (!insert) {
        Relationship old = read(td->tg_trigtuple, d);
        if (old.a != r.a || old.b != r.b)
            fail("22023", name(r) + ": the persons of a relationship cannot change",
                 "End it and start a new one.");
        if (!r.current || old.current) return;
    } else if (!r.current) {
        return;
    }
    if (r.a == r.b)
        fail("23514", name(r) + ": person " + std::to_string(r.a) +
                          " cannot be in a relationship with themselves");
    Spi spi;
    check_one_current(r);
    spi.finish();
}

void before_delete(TriggerData* td) {
    // The couple's persons, locked: deletes of two relationships of one couple
    // (and children added meanwhile) serialize on them.
    static Statement lock(
        "SELECT id FROM family.person WHERE id IN ($1, $2) ORDER BY id FOR NO KEY UPDATE",
        {INT8OID, INT8OID});
    static Statement children(
        "SELECT c.id FROM family.person c"
        " WHERE ((c.father_id = $1 AND c.mother_id = $2) OR (c.father_id = $2 AND c.mother_id = "
        "$1))"
        "   AND NOT EXISTS (SELECT FROM family.relationship r WHERE r.id <> $3"
        "        AND ((r.person_a = $1 AND r.person_b = $2) OR (r.person_a = $2 AND r.person_b = "
        "$1)))"
        // Cascading from a deleted person: its children are being unlinked.
        "   AND EXISTS (SELECT FROM family.person WHERE id = $1)"
        "   AND EXISTS (SELECT FROM family.person WHERE id = $2)"
        " ORDER BY c.id LIMIT 1",
        {INT8OID, INT8OID, INT8OID});
    Relationship r = read(td->tg_trigtuple, td->tg_relation->rd_att);
    Spi spi;
    lock.run({Int64GetDatum(r.a), Int64GetDatum(r.b)});
    if (children.run({Int64GetDatum(r.a), Int64GetDatum(r.b), Int64GetDatum(r.id)},
                     Statement::Reads::Latest) > 0)
        fail("FA002",
             name(r) + " cannot be deleted: persons " + std::to_string(r.a) + " and " +
                 std::to_string(r.b) + " have children (e.g. person " +
                 std::to_string(*col_int64(0, 1)) + ")",
             "End the relationship instead: ended relationships stay.");
    spi.finish();
}

}  // namespace
}  // namespace family::pg

using namespace family::pg;

extern "C" {
PG_FUNCTION_INFO_V1(family_relationship_before_write);
PG_FUNCTION_INFO_V1(family_relationship_before_delete);

Datum family_relationship_before_write(PG_FUNCTION_ARGS) {
    return entry([&] {
        auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
        before_write(td);
        // partner_id of both persons changes.
        Relationship r =
            read(TRIGGER_FIRED_BY_INSERT(td->tg_event) ? td->tg_trigtuple : td->tg_newtuple,
                 td->tg_relation->rd_att);
        if (r.complete) notify_changed({r.a, r.b});
        return PointerGetDatum(TRIGGER_FIRED_BY_INSERT(td->tg_event) ? td->tg_trigtuple
                                                                     : td->tg_newtuple);
    });
}

Datum family_relationship_before_delete(PG_FUNCTION_ARGS) {
    return entry([&] {
        auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
        before_delete(td);
        Relationship r = read(td->tg_trigtuple, td->tg_relation->rd_att);
        notify_changed({r.a, r.b});
        return PointerGetDatum(td->tg_trigtuple);
    });
}
}
