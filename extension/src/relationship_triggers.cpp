// Triggers on family.relationship: at most one current relationship per
// person (FA003), and no deletion of the relationship that makes a couple's
// children valid (FA002).
//
// Both rules read rows another transaction may be writing, so they lock the
// couple's two persons first and then read on a snapshot taken after the
// locks: what committed while we waited counts, at every isolation level.
#include <algorithm>

#include "pg.hpp"
#include "rules.hpp"

namespace family::pg {
namespace {

struct RelationshipColumns {
    int id, person_a, person_b, started_at, ended_at;
    explicit RelationshipColumns(Relation d)
        : id(column(d, "id")),
          person_a(column(d, "person_a")),
          person_b(column(d, "person_b")),
          started_at(column(d, "started_at")),
          ended_at(column(d, "ended_at")) {}
};

struct Relationship {
    int64 id, a, b;
    bool complete;  // both persons and started_at given: else NOT NULL speaks
    bool current;
    TimestampTz started_at, ended_at;
};

Relationship read(HeapTuple t, Relation table) {
    RelationshipColumns c(table);
    TupleDesc d = RelationGetDescr(table);
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

// What the rules read, without a query (a plan cached while the tables were
// small would scan them whole for every row of a load): the couple's persons
// through the primary key, locked FOR NO KEY UPDATE in id order (two writers
// of one couple, or of one person's relationships, serialize on them), then
// relationships and children through their indexes on a snapshot taken after
// the locks: what committed while we waited counts, at every isolation level.
class Reads {
  public:
    explicit Reads(Relation relationships) : relationships_(relationships) {
        Oid ns = RelationGetNamespace(relationships_);
        persons_ = call(table_open, relation_named("person", ns), RowShareLock);
        person_pkey_ = call(RelationGetPrimaryKeyIndex, persons_);
        by_a_ = relation_named("relationship_person_a", ns);
        by_b_ = relation_named("relationship_person_b", ns);
        couple_ = relation_named("relationship_couple", ns);
        by_father_ = relation_named("person_father_id", ns);
    }

    // Locks both persons; the first that does not exist, if one does not.
    std::optional<int64> lock_couple(const Relationship& r) {
        bool found[2] = {false, false};
        for (int i : {r.a < r.b ? 0 : 1, r.a < r.b ? 1 : 0})
            found[i] = reader_.lock(persons_, person_pkey_, {i == 0 ? r.a : r.b},
                                    LockTupleNoKeyExclusive);
        if (!found[0]) return r.a;
        if (!found[1]) return r.b;
        return std::nullopt;
    }

    // A current relationship of a or b other than r.
    std::optional<Relationship> other_current(const Relationship& r) {
        Found other{RelationshipColumns(relationships_), r.id};
        for (int64 person : {r.a, r.b})
            for (Oid index : {by_a_, by_b_})
                if (!other.found) reader_.scan_latest(relationships_, index, {person}, {visit, &other});
        if (!other.found) return std::nullopt;
        return other.row;
    }

    // Whether the couple of r has a relationship other than r.
    bool couple_has_another(const Relationship& r) {
        Found other{RelationshipColumns(relationships_), r.id};
        other.any = true;
        rules::Couple couple = rules::couple_of(r.a, r.b);
        reader_.scan_latest(relationships_, couple_, {couple.first, couple.second},
                            {visit, &other});
        return other.found;
    }

    // The lowest id among the couple's children, if they have any.
    std::optional<int64> first_child(const Relationship& r) {
        Child child{column(persons_, "id"), column(persons_, "mother_id"), 0, PG_INT64_MAX};
        for (auto [father, mother] : {std::pair{r.a, r.b}, std::pair{r.b, r.a}}) {
            child.mother = mother;
            reader_.scan_latest(persons_, by_father_, {father}, {visit_child, &child});
        }
        if (child.lowest == PG_INT64_MAX) return std::nullopt;
        return child.lowest;
    }

    void finish() {
        reader_.finish();
        call(table_close, persons_, NoLock);  // locked until the transaction ends
    }

  private:
    struct Found {
        RelationshipColumns c;
        int64 exclude;
        bool any = false;  // any relationship, ended or not
        bool found = false;
        Relationship row{};
    };
    static bool visit(TupleTableSlot* slot, void* arg) {
        Found& f = *static_cast<Found*>(arg);
        bool isnull = false;
        int64 id = DatumGetInt64(slot_getattr(slot, f.c.id, &isnull));
        slot_getattr(slot, f.c.ended_at, &isnull);
        if (id == f.exclude || (!f.any && !isnull)) return true;
        f.row.id = id;
        f.row.a = DatumGetInt64(slot_getattr(slot, f.c.person_a, &isnull));
        f.row.b = DatumGetInt64(slot_getattr(slot, f.c.person_b, &isnull));
        f.found = true;
        return false;
    }

    struct Child {
        int id_col, mother_col;
        int64 mother, lowest;
    };
    static bool visit_child(TupleTableSlot* slot, void* arg) {
        Child& c = *static_cast<Child*>(arg);
        bool isnull = false;
        Datum mother = slot_getattr(slot, c.mother_col, &isnull);
        if (!isnull && DatumGetInt64(mother) == c.mother)
            c.lowest = std::min(c.lowest, DatumGetInt64(slot_getattr(slot, c.id_col, &isnull)));
        return true;
    }

    Relation relationships_;
    Relation persons_ = nullptr;
    Oid person_pkey_ = InvalidOid, by_a_ = InvalidOid, by_b_ = InvalidOid, couple_ = InvalidOid,
        by_father_ = InvalidOid;
    RowReader reader_;
};

void check_one_current(Relation relationships, const Relationship& r) {
    Reads reads(relationships);
    if (std::optional<int64> missing = reads.lock_couple(r))
        fail("23503", name(r) + ": person " + std::to_string(*missing) + " does not exist");
    if (std::optional<Relationship> other = reads.other_current(r)) {
        int64 busy = (other->a == r.a || other->b == r.a) ? r.a : r.b;
        fail("FA003",
             name(r) + ": person " + std::to_string(busy) + " is already in relationship " +
                 std::to_string(other->id) + " (persons " + std::to_string(other->a) + " and " +
                 std::to_string(other->b) + ")",
             "A person has at most one current relationship: end it first.");
    }
    reads.finish();
}

rules::RelationshipRow row_of(const Relationship& r) {
    rules::RelationshipRow row{r.id, r.a, r.b, r.started_at, std::nullopt};
    if (!r.current) row.ended_at = r.ended_at;
    return row;
}

void before_write(TriggerData* td) {
    bool insert = TRIGGER_FIRED_BY_INSERT(td->tg_event);
    Relationship r = read(insert ? td->tg_trigtuple : td->tg_newtuple, td->tg_relation);
    if (!r.complete) return;
    std::optional<Relationship> old;
    if (!insert) old = read(td->tg_trigtuple, td->tg_relation);
    rules::check_relationship(row_of(r), old ? std::optional(row_of(*old)) : std::nullopt,
                              timestamp_text);
    // Only a relationship that becomes current can make a second one.
    if (r.current && !(old && old->current)) check_one_current(td->tg_relation, r);
}

void before_delete(TriggerData* td) {
    Relationship r = read(td->tg_trigtuple, td->tg_relation);
    Reads reads(td->tg_relation);
    // Both persons locked: deletes of two relationships of one couple (and
    // children added meanwhile) serialize on them. A person already gone
    // means a cascade from their delete: their children are being unlinked.
    std::optional<int64> child;
    if (!reads.lock_couple(r) && !reads.couple_has_another(r)) child = reads.first_child(r);
    if (child)
        fail("FA002",
             name(r) + " cannot be deleted: persons " + std::to_string(r.a) + " and " +
                 std::to_string(r.b) + " have children (e.g. person " + std::to_string(*child) +
                 ")",
             "End the relationship instead: ended relationships stay.");
    reads.finish();
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
                 td->tg_relation);
        if (r.complete) notify_changed({r.a, r.b});
        return PointerGetDatum(TRIGGER_FIRED_BY_INSERT(td->tg_event) ? td->tg_trigtuple
                                                                     : td->tg_newtuple);
    });
}

Datum family_relationship_before_delete(PG_FUNCTION_ARGS) {
    return entry([&] {
        auto* td = reinterpret_cast<TriggerData*>(fcinfo->context);
        before_delete(td);
        Relationship r = read(td->tg_trigtuple, td->tg_relation);
        notify_changed({r.a, r.b});
        return PointerGetDatum(td->tg_trigtuple);
    });
}
}
