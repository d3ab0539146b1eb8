// Triggers on family.person.
//  - BEFORE INSERT OR UPDATE (row): checks the row, locks its parents FOR
//    SHARE and computes its derived values from them.
//  - AFTER UPDATE (statement): recomputes the changed rows and all their
//    descendants as one set, in topological order, and writes what differs.
//    A set that cannot be ordered holds a cycle: FA001.
//  - AFTER DELETE (statement): unlinks the children of the deleted persons,
//    which is an UPDATE and so recomputes everything below them.
//
// Concurrency. A row's values are computed from its parents read FOR SHARE,
// and every row whose values change is written (so locked) by the recompute:
// a writer of a person and a reader of it as a parent serialize. At READ
// COMMITTED the recompute reads without locks, writes only rows whose links
// are still the ones it read, then reads the set again; if anything moved
// while it ran (a child added, a link changed), it starts over on the latest
// state. At REPEATABLE READ and SERIALIZABLE the snapshot cannot move: the set
// is also read on a fresh snapshot, and any difference raises 40001.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "pg.hpp"
#include "rules.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace family::pg {
namespace {

using rules::Couple;
using rules::couple_of;
using rules::RowLinks;

// Attribute numbers of family.person, looked up by name.
std::optional<int64> attr_int(HeapTuple t, TupleDesc d, int col) {
    bool isnull = false;
    Datum v = heap_getattr(t, col, d, &isnull);
    if (isnull) return std::nullopt;
    return TupleDescAttr(d, col - 1)->atttypid == INT2OID ? DatumGetInt16(v) : DatumGetInt64(v);
}

bool attr_null(HeapTuple t, TupleDesc d, int col) {
    bool isnull = false;
    heap_getattr(t, col, d, &isnull);
    return isnull;
}

bool attr_same(HeapTuple a, HeapTuple b, TupleDesc d, int col) {
    bool an = false, bn = false;
    Datum av = heap_getattr(a, col, d, &an), bv = heap_getattr(b, col, d, &bn);
    if (an || bn) return an == bn;
    Form_pg_attribute att = TupleDescAttr(d, col - 1);
    return call(datum_image_eq, av, bv, att->attbyval, static_cast<int>(att->attlen));
}

// Whether two versions of a row have the same parent links and ranks.
bool same_links(HeapTuple a, HeapTuple b, TupleDesc d, const PersonColumns& c) {
    for (int col : {c.father_id, c.mother_id, c.father_rank, c.mother_rank})
        if (!attr_same(a, b, d, col)) return false;
    return true;
}

std::string person(int64 id) {
    return "person " + std::to_string(id);
}

RowLinks read_links(HeapTuple t, TupleDesc d, const PersonColumns& c) {
    return {*attr_int(t, d, c.id), attr_int(t, d, c.father_id), attr_int(t, d, c.mother_id),
            attr_int(t, d, c.father_rank), attr_int(t, d, c.mother_rank)};
}

// Reads the given persons' derived values, locking them FOR SHARE.
std::unordered_map<int64, Derived> read_parents(const std::vector<int64>& ids) {
    // One index probe per id, in id order (a bitmap scan would cost more to
    // start than the two rows it reads for a child).
    static Statement q(
        "SELECT p.id, p.generation, p.link_rank_sums, p.link_counts"
        "  FROM (SELECT DISTINCT unnest($1::int8[]) AS id ORDER BY 1) AS k,"
        "       LATERAL (SELECT id, generation, link_rank_sums, link_counts FROM family.person"
        "                 WHERE id = k.id FOR SHARE) AS p",
        {INT8ARRAYOID});
    std::unordered_map<int64, Derived> out;
    uint64 n = q.run({int64_array(ids)});
    for (uint64 i = 0; i < n; ++i)
        out[*col_int64(i, 1)] = {static_cast<int>(*col_int64(i, 2)), col_ranks(i, 3, 4)};
    return out;
}

std::optional<ParentView> view(const std::unordered_map<int64, Derived>& parents,
                               const std::optional<int64>& id, const std::optional<int64>& rank) {
    if (!id) return std::nullopt;
    const Derived& p = parents.at(*id);
    return ParentView{static_cast<int>(*rank), p.generation, &p.ranks};
}

// Whether a relationship row joins a couple: checked again on the version
// locked.
struct SameCouple {
    int person_a, person_b;  // attribute numbers
    Couple couple;
};
bool same_couple(TupleTableSlot* slot, void* arg) {
    const SameCouple& s = *static_cast<const SameCouple*>(arg);
    bool an = false, bn = false;
    int64 a = DatumGetInt64(slot_getattr(slot, s.person_a, &an));
    int64 b = DatumGetInt64(slot_getattr(slot, s.person_b, &bn));
    return !an && !bn && couple_of(a, b) == s.couple;
}

// Where the rows this transaction locked are: a parent (FOR SHARE) by id, a
// couple's relationship (FOR KEY SHARE) by (least, greatest). While a lock is
// held nobody else can change that row version, so siblings added one after
// the other (a COPY, a family's children) fetch their parents by position
// instead of searching the index. A position is trusted only while the row
// there is still visible (this transaction's own update or delete of it, by
// any path, hides it) and is the one asked for; values are read again each
// time. A subtransaction's abort releases its locks: then all is forgotten,
// as with the transaction.
struct Locked {
    LocalTransactionId xact = InvalidLocalTransactionId;
    struct PairHash {
        std::size_t operator()(const std::pair<int64, int64>& p) const {
            return std::hash<uint64>()(static_cast<uint64>(p.first) * 1000003u ^
                                       static_cast<uint64>(p.second));
        }
    };
    std::unordered_map<int64, ItemPointerData> parents;
    std::unordered_map<std::pair<int64, int64>, ItemPointerData, PairHash> couples;

    void clear() {
        decltype(parents)().swap(parents);  // clear() would keep every bucket
        decltype(couples)().swap(couples);
    }
    void hold() {
        if (xact != MyProc->lxid || parents.size() > 100000 || couples.size() > 100000) {
            clear();
            xact = MyProc->lxid;
        }
    }
};
Locked locked;

// The transaction note_link_change() wrote its row for.
FullTransactionId noted = InvalidFullTransactionId;

void forget_on_abort(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    if (event != SUBXACT_EVENT_ABORT_SUB) return;
    locked.clear();
    noted = InvalidFullTransactionId;  // the row may have gone with it: again
}

// One row trigger's reads, without a query: the parents through the primary
// key (FOR SHARE, in id order), the couple through relationship_couple (FOR
// KEY SHARE: a relationship cannot go while its child is being added).
class RowChecks {
  public:
    RowChecks(Relation persons, const PersonColumns& c) : persons_(persons), c_(c) {
        pk_ = call(RelationGetPrimaryKeyIndex, persons_);
        locked.hold();
    }

    // The derived values of a row about to be written, from its parents.
    Derived derive_row(const RowLinks& r) {
        std::vector<int64> ids;
        for (const auto& p : {r.father, r.mother})
            if (p) ids.push_back(*p);
        if (ids.empty()) return Derived{};
        std::sort(ids.begin(), ids.end());
        std::unordered_map<int64, Derived> parents;
        for (int64 id : ids) {
            if (parents.count(id)) continue;
            auto known = locked.parents.find(id);
            RowReader& reader = this->reader();
            bool found = known != locked.parents.end() && reader.fetch(persons_, known->second) &&
                         reader.int_at(c_.id) == id;
            if (!found) found = reader.lock(persons_, pk_, {id}, LockTupleShare);
            if (!found) continue;
            locked.parents[id] = reader.position();
            parents[id] = {static_cast<int>(*reader.int_at(c_.generation)),
                           {reader.float8s_at(c_.sums), reader.float8s_at(c_.counts)}};
        }
        for (const auto& [role, p] : {std::pair{"father", r.father}, std::pair{"mother", r.mother}})
            if (p && !parents.count(*p))
                fail("23503",
                     person(r.id) + ": " + role + " " + std::to_string(*p) + " does not exist");
        return derive(view(parents, r.father, r.father_rank),
                      view(parents, r.mother, r.mother_rank));
    }

    void check_couple(const RowLinks& r) {
        // RowShareLock until the transaction ends, as SELECT ... FOR KEY
        // SHARE would take: the table and its index stay while the child
        // depends on the row.
        Oid ns = RelationGetNamespace(persons_);
        Relation relationships = call(table_open, relation_named("relationship", ns), RowShareLock);
        Oid couple = relation_named("relationship_couple", ns);
        SameCouple same{column(relationships, "person_a"), column(relationships, "person_b"),
                        couple_of(*r.father, *r.mother)};
        const Couple& pair = same.couple;
        auto known = locked.couples.find(pair);
        RowReader& reader = this->reader();
        bool found = known != locked.couples.end() && reader.fetch(relationships, known->second) &&
                     reader.check({same_couple, &same});
        if (!found)
            found = reader.lock(relationships, couple, {pair.first, pair.second}, LockTupleKeyShare,
                                {same_couple, &same});
        if (found) locked.couples[pair] = reader.position();
        call(table_close, relationships, NoLock);
        if (!found)
            fail("FA002",
                 person(r.id) + ": father " + std::to_string(*r.father) + " and mother " +
                     std::to_string(*r.mother) + " are not a couple",
                 "Only people in a relationship can have children: start a relationship between "
                 "them first.");
    }

    void finish() {
        if (reader_) reader_->finish();
    }

  private:
    // Made on the first read: a person without parents takes no snapshot.
    RowReader& reader() {
        if (!reader_) reader_.emplace();
        return *reader_;
    }

    Relation persons_;
    const PersonColumns& c_;
    Oid pk_ = InvalidOid;
    std::optional<RowReader> reader_;
};

void reject_derived_write(int64 id, const char* column) {
    fail("428C9", person(id) + ": column " + std::string(column) + " is derived and cannot be set",
         "generation, ancestor_relationship_rank, link_rank_sums and link_counts are kept by "
         "the extension from the parent links and ranks.");
}

// Returns the row to store, allocated in the caller's memory context.
HeapTuple before_write(TriggerData* td) {
    bool insert = TRIGGER_FIRED_BY_INSERT(td->tg_event);
    HeapTuple row = insert ? td->tg_trigtuple : td->tg_newtuple;
    TupleDesc d = td->tg_relation->rd_att;
    // A copy: the cache may be reset by an invalidation while we run.
    const PersonColumns c = columns_of(td->tg_relation);
    if (attr_null(row, d, c.id)) return row;  // the primary key's NOT NULL speaks
    RowLinks links = read_links(row, d, c);
    if (!insert && same_links(td->tg_trigtuple, row, d, c) && pass_internal_write(links.id))
        return row;
    if (!insert && !attr_same(td->tg_trigtuple, row, d, c.id))
        fail("22023",
             person(*attr_int(td->tg_trigtuple, d, c.id)) + ": a person's id cannot change",
             "Children and relationships refer to it.");
    static const std::pair<const char*, int PersonColumns::*> derived_columns[] = {
        {"generation", &PersonColumns::generation},
        {"ancestor_relationship_rank", &PersonColumns::rank},
        {"link_rank_sums", &PersonColumns::sums},
        {"link_counts", &PersonColumns::counts}};
    for (const auto& [name, col] : derived_columns)
        if (insert ? !attr_null(row, d, c.*col) : !attr_same(td->tg_trigtuple, row, d, c.*col))
            reject_derived_write(links.id, name);

    std::optional<Derived> derived;
    if (insert || !same_links(td->tg_trigtuple, row, d, c)) {
        rules::check_links(links);
        RowChecks checks(td->tg_relation, c);
        derived = checks.derive_row(links);
        bool parents_changed = insert || !attr_same(td->tg_trigtuple, row, d, c.father_id) ||
                               !attr_same(td->tg_trigtuple, row, d, c.mother_id);
        if (links.father && links.mother && parents_changed) checks.check_couple(links);
        checks.finish();
    }

    std::vector<int> cols;
    std::vector<Datum> values;
    std::vector<char> nulls;  // bool-sized flags for heap_modify_tuple_by_cols
    auto set = [&](int col, Datum v, bool isnull) {
        cols.push_back(col);
        values.push_back(v);
        nulls.push_back(isnull);
    };
    if (!insert)
        set(c.updated_at, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), false);
    if (derived) {
        std::optional<double> rank = ancestor_rank(derived->ranks);
        set(c.generation, Int32GetDatum(derived->generation), false);
        set(c.rank, Float8GetDatum(rank.value_or(0)), !rank);
        set(c.sums, float8_array(derived->ranks.sums), false);
        set(c.counts, float8_array(derived->ranks.counts), false);
    }
    // The person, and the parents whose children changed.
    std::vector<int64> changed{links.id};
    for (int col : {c.father_id, c.mother_id}) {
        if (!insert && attr_same(td->tg_trigtuple, row, d, col)) continue;
        for (HeapTuple t : {insert ? nullptr : td->tg_trigtuple, row})
            if (t)
                if (std::optional<int64> parent = attr_int(t, d, col)) changed.push_back(*parent);
    }
    notify_changed(changed);
    if (cols.empty()) return row;
    return call(heap_modify_tuple_by_cols, row, d, static_cast<int>(cols.size()), cols.data(),
                values.data(), reinterpret_cast<bool*>(nulls.data()));
}

// A set of persons with their links, as read by one statement.
struct LinkSet {
    std::vector<Links> rows;  // ordered by id
    bool operator==(const LinkSet& o) const {
        if (rows.size() != o.rows.size()) return false;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const Links &a = rows[i], &b = o.rows[i];
            if (a.id != b.id || a.father != b.father || a.mother != b.mother ||
                a.father_rank != b.father_rank || a.mother_rank != b.mother_rank)
                return false;
        }
        return true;
    }
};

// The given persons and all their descendants, with their links.
LinkSet with_descendants(const std::vector<int64>& roots, bool latest) {
    using S = Statement::Reads;
    // The links travel with the rows: no second lookup of each person.
    static Statement q(
        "WITH RECURSIVE a(id, father_id, mother_id, father_rank, mother_rank) AS ("
        "    SELECT id, father_id, mother_id, father_rank, mother_rank FROM family.person"
        "     WHERE id = ANY($1)"
        "  UNION"
        "    SELECT c.* FROM a, LATERAL ("
        "        SELECT id, father_id, mother_id, father_rank, mother_rank"
        "          FROM family.person WHERE father_id = a.id"
        "        UNION ALL"
        "        SELECT id, father_id, mother_id, father_rank, mother_rank"
        "          FROM family.person WHERE mother_id = a.id) AS c)"
        " SELECT id, father_id, mother_id, father_rank, mother_rank FROM a ORDER BY id",
        {INT8ARRAYOID});
    LinkSet out;
    uint64 n = q.run({int64_array(roots)}, latest ? S::Latest : S::Fresh);
    out.rows.reserve(n);
    for (uint64 i = 0; i < n; ++i) out.rows.push_back(col_links(i));
    return out;
}

// The transactions running, or yet to start, at some moment.
struct Horizon {
    TransactionId xmax = InvalidTransactionId;
    std::vector<TransactionId> running;
};

Horizon horizon_now() {
    Horizon h;
    Snapshot s = call(GetLatestSnapshot);
    h.xmax = s->xmax;
    h.running.assign(s->xip, s->xip + s->xcnt);
    return h;
}

// Whether another transaction has ended since `before` (so that a fresh read
// could differ from the first one). Errs on the side of yes.
bool others_ended_since(const Horizon& before) {
    bool ended = false;
    Snapshot now = call(GetLatestSnapshot);
    auto done = [&](TransactionId x) {
        if (!TransactionIdPrecedes(x, now->xmax) || TransactionIdIsCurrentTransactionId(x))
            return false;
        for (uint32 i = 0; i < now->xcnt; ++i)
            if (now->xip[i] == x) return false;
        return true;
    };
    for (std::size_t i = 0; !ended && i < before.running.size(); ++i)
        ended = done(before.running[i]);
    for (TransactionId x = before.xmax; !ended && TransactionIdPrecedes(x, now->xmax);) {
        ended = done(x);
        TransactionIdAdvance(x);
    }
    return ended;
}

// Recomputes `roots` and all their descendants; see the header comment.
void propagate(const std::vector<int64>& roots) {
    bool snapshot_fixed = IsolationUsesXactSnapshot();
    // Rows written by an attempt that then saw the set move were computed
    // from links that no longer hold (a relinked person may have taken them
    // out of the set): the next attempt recomputes them too.
    std::vector<int64> targets = roots;
    for (int attempt = 0;; ++attempt) {
        Horizon before = horizon_now();
        LinkSet set = with_descendants(targets, false);
        std::unordered_set<int64> members;
        for (const Links& l : set.rows) members.insert(l.id);
        std::vector<int64> outside;
        for (const Links& l : set.rows)
            for (const auto& p : {l.father, l.mother})
                if (p && !members.count(*p)) outside.push_back(*p);
        std::sort(outside.begin(), outside.end());
        outside.erase(std::unique(outside.begin(), outside.end()), outside.end());
        std::unordered_map<int64, Derived> parents = read_parents(outside);

        DerivedBatch batch;
        auto add = [&](const Links& l, const Derived& d) { batch.add(l, d); };
        auto stored = [&](PersonId id) -> const Derived* {
            auto it = parents.find(id);
            return it == parents.end() ? nullptr : &it->second;
        };
        GraphResult result = derive_all(set.rows, add, stored);
        if (!result.in_cycle.empty()) rules::cycle_error(set.rows, roots, result.in_cycle);
        std::vector<int64> written = batch.write();
        notify_changed(written);
        // Read the set again, now that every changed row is locked: on the
        // latest state (at READ COMMITTED every statement sees it; at a fixed
        // snapshot it must be asked for).
        if (!rules::must_read_again(snapshot_fixed, snapshot_fixed || others_ended_since(before)))
            return;
        bool same = with_descendants(targets, snapshot_fixed) == set;
        if (!rules::start_over(same, snapshot_fixed, attempt, roots)) return;
        targets.insert(targets.end(), written.begin(), written.end());
        std::sort(targets.begin(), targets.end());
        targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    }
}

// Deleted persons leave their children: parent link and rank go.
void unlink_children(const std::vector<int64>& deleted) {
    // The children are found through the parent indexes (a semi-join), not by
    // testing each person against the whole list.
    static Statement q(
        "UPDATE family.person AS p"
        "   SET father_id = CASE WHEN p.father_id = ANY($1) THEN NULL ELSE p.father_id END,"
        "       father_rank = CASE WHEN p.father_id = ANY($1) THEN NULL ELSE p.father_rank END,"
        "       mother_id = CASE WHEN p.mother_id = ANY($1) THEN NULL ELSE p.mother_id END,"
        "       mother_rank = CASE WHEN p.mother_id = ANY($1) THEN NULL ELSE p.mother_rank END"
        "  FROM (SELECT id FROM family.person WHERE father_id IN (SELECT unnest($1::int8[]))"
        "        UNION"
        "        SELECT id FROM family.person WHERE mother_id IN (SELECT unnest($1::int8[])))"
        "       AS c"
        " WHERE p.id = c.id",
        {INT8ARRAYOID});
    // On the latest state: at REPEATABLE READ a child added since the snapshot
    // then raises 40001 here rather than a foreign key error at commit.
    q.run({int64_array(deleted)}, Statement::Reads::Latest);
}

// Ids of the rows of a transition table (column `id`).
std::vector<int64> transition_ids(Tuplestorestate* table, TupleDesc desc, int id_col) {
    std::vector<int64> ids;
    call(
        [](Tuplestorestate* table, TupleDesc desc, int id_col, std::vector<int64>* ids) {
            TupleTableSlot* slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
            tuplestore_rescan(table);
            while (tuplestore_gettupleslot(table, true, false, slot)) {
                bool isnull = false;
                Datum d = slot_getattr(slot, id_col, &isnull);
                if (!isnull) ids->push_back(DatumGetInt64(d));
            }
            ExecDropSingleTupleTableSlot(slot);
        },
        table, desc, id_col, &ids);
    return ids;
}

// Rows of an UPDATE whose links or derived values changed.
std::vector<int64> changed_rows(TriggerData* td, bool* parents_changed) {
    std::vector<int64> changed;
    PersonColumns columns = columns_of(td->tg_relation);
    call(
        [](TriggerData* td, const PersonColumns* c, std::vector<int64>* changed,
           bool* parents_changed) {
            TupleDesc d = td->tg_relation->rd_att;
            TupleTableSlot* o = MakeSingleTupleTableSlot(d, &TTSOpsMinimalTuple);
            TupleTableSlot* n = MakeSingleTupleTableSlot(d, &TTSOpsMinimalTuple);
            tuplestore_rescan(td->tg_oldtable);
            tuplestore_rescan(td->tg_newtable);
            // Both tables hold the rows in the same order, old and new side
            // by side.
            while (tuplestore_gettupleslot(td->tg_oldtable, true, false, o) &&
                   tuplestore_gettupleslot(td->tg_newtable, true, false, n)) {
                HeapTuple ot = ExecFetchSlotHeapTuple(o, false, nullptr);
                HeapTuple nt = ExecFetchSlotHeapTuple(n, false, nullptr);
                auto differs = [&](int col) {
                    bool on = false, nn = false;
                    Datum ov = heap_getattr(ot, col, d, &on), nv = heap_getattr(nt, col, d, &nn);
                    Form_pg_attribute att = TupleDescAttr(d, col - 1);
                    return on != nn ||
                           (!on && !datum_image_eq(ov, nv, att->attbyval, att->attlen));
                };
                bool isnull = false;
                int64 id = DatumGetInt64(heap_getattr(nt, c->id, d, &isnull));
                bool parents = differs(c->father_id) || differs(c->mother_id);
                *parents_changed = *parents_changed || parents;
                bool links = parents || differs(c->father_rank) || differs(c->mother_rank);
                // Derived values the extension wrote are already right below.
                bool derived = !internal_write_of(id) && (differs(c->generation) ||
                                                          differs(c->sums) || differs(c->counts));
                if (links || derived) changed->push_back(id);
            }
            ExecDropSingleTupleTableSlot(o);
            ExecDropSingleTupleTableSlot(n);
        },
        td, &columns, &changed, parents_changed);
    return changed;
}

// PostgreSQL calls a function declared RETURNS trigger only as a trigger.
TriggerData* trigger_data(FunctionCallInfo fcinfo) {
    return reinterpret_cast<TriggerData*>(fcinfo->context);
}

}  // namespace

void note_link_change() {
    FullTransactionId xact = call(GetTopFullTransactionId);
    if (FullTransactionIdEquals(xact, noted)) return;
    Oid ns = call(get_namespace_oid, "family", false);
    // As a foreign key's check runs: as the owner of the table it writes.
    Oid owner = call(
        [](Oid ns) {
            HeapTuple t = SearchSysCache2(RELNAMENSP, CStringGetDatum("link_change"),
                                          ObjectIdGetDatum(ns));
            if (!HeapTupleIsValid(t)) return InvalidOid;
            Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(t))->relowner;
            ReleaseSysCache(t);
            return owner;
        },
        ns);
    // The schema predates 0.8.0 (ALTER EXTENSION family UPDATE not run yet):
    // without the table, family.kinship keeps no copy to warn either.
    if (!OidIsValid(owner)) return;
    Oid user = InvalidOid;
    int context = 0;
    GetUserIdAndSecContext(&user, &context);
    SetUserIdAndSecContext(owner, context | SECURITY_LOCAL_USERID_CHANGE);
    // An error aborts the (sub)transaction, which restores the user.
    Spi spi;
    static Statement note("SELECT family.note_link_change()", {});
    note.run({});
    spi.finish();
    SetUserIdAndSecContext(user, context);
    noted = xact;
}

void person_triggers_init() {
    RegisterSubXactCallback(forget_on_abort, nullptr);
    CacheRegisterRelcacheCallback(forget_columns, 0);
}

}  // namespace family::pg

using namespace family::pg;

extern "C" {
PG_FUNCTION_INFO_V1(family_person_before_write);
PG_FUNCTION_INFO_V1(family_person_propagate);
PG_FUNCTION_INFO_V1(family_person_after_delete);

Datum family_person_before_write(PG_FUNCTION_ARGS) {
    return entry([&] { return PointerGetDatum(before_write(trigger_data(fcinfo))); });
}

Datum family_person_propagate(PG_FUNCTION_ARGS) {
    return entry([&] {
        TriggerData* td = trigger_data(fcinfo);
        bool parents_changed = false;
        std::vector<int64> roots = changed_rows(td, &parents_changed);
        // Here, not in our BEFORE trigger: a user's BEFORE trigger may
        // change a row's parents after ours has seen it.
        if (parents_changed) note_link_change();
        if (!roots.empty()) {
            Spi spi;
            propagate(roots);
            spi.finish();
        }
        return PointerGetDatum(nullptr);
    });
}

Datum family_person_after_delete(PG_FUNCTION_ARGS) {
    return entry([&] {
        TriggerData* td = trigger_data(fcinfo);
        // A copy: the cache may be reset by an invalidation while we run.
    const PersonColumns c = columns_of(td->tg_relation);
        TupleDesc d = td->tg_relation->rd_att;
        std::vector<int64> deleted = transition_ids(td->tg_oldtable, d, c.id);
        notify_changed(deleted);
        // Their parents lose a child.
        notify_changed(transition_ids(td->tg_oldtable, d, c.father_id));
        notify_changed(transition_ids(td->tg_oldtable, d, c.mother_id));
        if (!deleted.empty()) {
            note_link_change();
            Spi spi;
            unlink_children(deleted);
            spi.finish();
        }
        return PointerGetDatum(nullptr);
    });
}
}
