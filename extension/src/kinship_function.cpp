// family.kinship(a, b): how b is related to a by blood (SPEC 5 and 5a), the
// walk of kinship.hpp over the persons as the calling query sees them.
//
// Two ways to read them:
//  - a copy of every person's parents and generation, kept by the backend
//    between calls (12 bytes a person, plus 8 for the id), walked by
//    GraphWalk: a few milliseconds where reading the same persons through
//    the primary key takes hundreds;
//  - the primary key (no query, no plan), person by person.
//
// The copy was read on a snapshot S; a query reads on Q. It holds for Q when
// every transaction Q sees as committed S saw too, and no transaction Q sees
// but S did not changed parents. The first is told by the two snapshots
// alone; the second by family.link_change, where every transaction that
// changes a person's parents or generation, deletes persons or truncates
// them writes a row before it commits (note_link_change). Inserted persons
// need no row: nobody's parents change, and a person the copy lacks is read
// through the primary key, with their own new ancestors. A transaction that
// has written anything reads through the primary key (the copy cannot hold
// what only it sees).
//
// When to read the copy again is the ski-rental problem: walks through the
// primary key go on until they have cost as much as reading the copy did
// last time (or, the first time, an estimate from the table's size); then
// the copy is read. However the copy fares, a backend spends at most twice
// what the better of the two choices would have.
#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "kinship.hpp"
#include "pg.hpp"

extern "C" {
#include "access/genam.h"
#include "catalog/pg_subscription.h"
#include "storage/bufmgr.h"
#include "utils/fmgroids.h"
#include "storage/predicate.h"
#include "utils/guc.h"
#include "utils/xid8.h"
}

namespace family::pg {
namespace {

using kinship::PersonId;

// family.kinship_cache_size: the largest copy a backend keeps, in kB; 0 = none.
int cache_kb = 256 * 1024;
// family.kinship_rent_ms (a test hook): what walks through the primary key
// must cost before the copy is read; -1: what reading it cost (estimated).
int rent_ms = -1;
constexpr std::size_t kBytesPerPerson = 20;  // id 8, father 4, mother 4, generation 4
// Persons added since the copy was read that a walk reads through the
// primary key before the copy is read again (plus one in a hundred).
constexpr std::size_t kNewcomersAtMost = 1000;
// Estimated time to read the copy, per block of family.person, before the
// backend has read it once.
constexpr double kBuildMsPerBlock = 0.008;

class People {
  public:
    People()
        : scanner_("person"),
          id_(column(scanner_.table(), "id")),
          father_(column(scanner_.table(), "father_id")),
          mother_(column(scanner_.table(), "mother_id")),
          generation_(column(scanner_.table(), "generation")),
          sex_(column(scanner_.table(), "sex")),
          pk_(scanner_.primary_key()) {}

    struct Row {
        bool found = false;
        kinship::Person person;
        kinship::Sex sex = kinship::Sex::Unknown;
    };
    Row get(PersonId id) {
        Read r{this, {}};
        scanner_.scan(pk_, {id}, {read, &r});
        if (!r.row.found) fail("23503", "kinship: person " + std::to_string(id) + " does not exist");
        return r.row;
    }
    Relation table() const { return scanner_.table(); }
    int id() const { return id_; }
    int father() const { return father_; }
    int mother() const { return mother_; }
    int generation() const { return generation_; }
    void finish() { scanner_.finish(); }

  private:
    struct Read {
        const People* p;
        Row row;
    };
    static bool read(TupleTableSlot* slot, void* arg) {
        Read& r = *static_cast<Read*>(arg);
        const People& p = *r.p;
        bool isnull = false;
        r.row.found = true;
        for (auto [col, out] : {std::pair{p.father_, &r.row.person.father},
                                std::pair{p.mother_, &r.row.person.mother}}) {
            Datum d = slot_getattr(slot, col, &isnull);
            if (!isnull) *out = DatumGetInt64(d);
        }
        r.row.person.generation = DatumGetInt32(slot_getattr(slot, p.generation_, &isnull));
        Datum sex = slot_getattr(slot, p.sex_, &isnull);
        // 'M', 'F' or 'X' (a CHECK constraint): one byte, never toasted.
        if (!isnull && VARSIZE_ANY_EXHDR(DatumGetPointer(sex)) == 1) {
            char c = *VARDATA_ANY(DatumGetPointer(sex));
            r.row.sex = c == 'M' ? kinship::Sex::Male
                        : c == 'F' ? kinship::Sex::Female
                                   : kinship::Sex::Unknown;
        }
        return false;
    }

    Scanner scanner_;
    int id_, father_, mother_, generation_, sex_;
    Oid pk_;
};

// What a snapshot saw, kept after it is gone: its bounds and the
// transactions it saw in progress.
struct SnapshotCopy {
    TransactionId xmin = InvalidTransactionId, xmax = InvalidTransactionId;
    FullTransactionId full_xmin = InvalidFullTransactionId;
    std::vector<TransactionId> xip, subxip;
    bool recovery = false;

    // Whether it did not see xid as committed: in progress then, or later.
    static bool in_progress(const SnapshotCopy* s, TransactionId xid) {
        SnapshotData view{};
        view.snapshot_type = SNAPSHOT_MVCC;
        view.xmin = s->xmin;
        view.xmax = s->xmax;
        view.xip = const_cast<TransactionId*>(s->xip.data());
        view.xcnt = static_cast<uint32>(s->xip.size());
        view.subxip = const_cast<TransactionId*>(s->subxip.data());
        view.subxcnt = static_cast<int32>(s->subxip.size());
        view.suboverflowed = false;  // never copied when overflowed
        view.takenDuringRecovery = s->recovery;
        return XidInMVCCSnapshot(xid, &view);
    }
};

// The backend's copy of the parents.
struct Cache {
    bool built = false;
    Oid table = InvalidOid;  // family.person's, when read
    SnapshotCopy seen;       // S
    std::vector<int64> ids;  // sorted: an index's id
    kinship::ParentGraph graph;
    bool in_order = true;  // the copy's generations (ParentGraph::in_order)
    kinship::GraphWalk walk;
    double build_ms = -1;  // the last reading's time, < 0 before the first
    double rented_ms = 0;  // walks through the primary key since there was no copy

    void drop() {
        built = false;
        decltype(ids)().swap(ids);
        graph = {};
        walk = {};
        rented_ms = 0;
    }
    int32 index_of(int64 id) const {
        auto it = std::lower_bound(ids.begin(), ids.end(), id);
        return it != ids.end() && *it == id ? static_cast<int32>(it - ids.begin()) : -1;
    }
};
Cache cache;

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

// Whether a copy read on `s` holds for the query's snapshot `q`.
enum class Freshness {
    kFresh,
    kOlder,  // q does not see all s saw (a cursor's older snapshot)
    kStale,  // parents changed since
};
void check_freshness(Snapshot q, Oid changes_oid, Oid index_oid, const SnapshotCopy* copy,
                     Freshness* result) {
    const SnapshotCopy& s = *copy;
    *result = Freshness::kOlder;
    // Everything S saw committed, Q sees committed: Q's horizon is not
    // below S's, and what Q sees in progress below S's horizon S did too.
    if (TransactionIdPrecedes(q->xmax, s.xmax)) return;
    for (const auto& [xids, n] : {std::pair{q->xip, static_cast<int>(q->xcnt)},
                                  std::pair{q->subxip, static_cast<int>(q->subxcnt)}})
        for (int i = 0; i < n; ++i)
            if (TransactionIdPrecedes(xids[i], s.xmax) && !SnapshotCopy::in_progress(&s, xids[i]))
                return;
    // No transaction Q sees but S did not changed parents. Below S's xmin
    // both saw the same (finished) transactions. (A row deleted by
    // note_link_change was deleted by a transaction that wrote its own row:
    // if S did not see that one, Q sees its row.)
    Relation changes = table_open(changes_oid, AccessShareLock);
    Relation index = index_open(index_oid, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTGreaterEqualStrategyNumber, F_XID8GE,
                FullTransactionIdGetDatum(s.full_xmin));
    IndexScanDesc scan = index_beginscan(changes, index, q, 1, 0);
    index_rescan(scan, &key, 1, nullptr, 0);
    TupleTableSlot* slot = table_slot_create(changes, nullptr);
    bool fresh = true;
    while (fresh && index_getnext_slot(scan, ForwardScanDirection, slot)) {
        bool isnull = false;
        FullTransactionId xact = DatumGetFullTransactionId(slot_getattr(slot, 1, &isnull));
        fresh = !SnapshotCopy::in_progress(&s, XidFromFullTransactionId(xact));
    }
    ExecDropSingleTupleTableSlot(slot);
    index_endscan(scan);
    index_close(index, NoLock);
    table_close(changes, NoLock);
    *result = fresh ? Freshness::kFresh : Freshness::kStale;
}

// One person as read for the copy.
struct PersonLinks {
    int64 id, father, mother;
    int32 generation;
    bool has_father, has_mother;
};
struct Reading {
    int id, father, mother, generation;  // attribute numbers
    std::size_t limit;               // persons at most
    std::vector<PersonLinks>* out;   // reserved for as many as the table is thought to hold
    bool over;  // more persons than limit
};
// Every person of `table` on `q`, by a sequential scan.
void read_persons(Relation table, Snapshot q, Reading* r) {
    TableScanDesc scan = table_beginscan(table, q, 0, nullptr);
    TupleTableSlot* slot = table_slot_create(table, nullptr);
    while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        if (r->out->size() == r->limit) {
            r->over = true;
            break;
        }
        bool id_null = false, f_null = false, m_null = false, g_null = false;
        PersonLinks p;
        p.id = DatumGetInt64(slot_getattr(slot, r->id, &id_null));
        p.father = DatumGetInt64(slot_getattr(slot, r->father, &f_null));
        p.mother = DatumGetInt64(slot_getattr(slot, r->mother, &m_null));
        p.generation = DatumGetInt32(slot_getattr(slot, r->generation, &g_null));
        p.has_father = !f_null;
        p.has_mother = !m_null;
        r->out->push_back(p);
    }
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(scan);
}

// Whether this database subscribes to a logical publication.
bool subscribes() {
    Relation catalog = table_open(SubscriptionRelationId, AccessShareLock);
    SysScanDesc scan = systable_beginscan(catalog, InvalidOid, false, nullptr, 0, nullptr);
    bool found = false;
    for (HeapTuple t; !found && HeapTupleIsValid(t = systable_getnext(scan));)
        found = reinterpret_cast<Form_pg_subscription>(GETSTRUCT(t))->subdbid == MyDatabaseId;
    systable_endscan(scan);
    table_close(catalog, AccessShareLock);
    return found;
}

// The full transaction id of a recent xid (a snapshot's xmin).
FullTransactionId widen(TransactionId xid) {
    FullTransactionId next = ReadNextFullTransactionId();
    uint32 epoch = EpochFromFullTransactionId(next);
    if (xid > XidFromFullTransactionId(next)) --epoch;  // before the counter wrapped
    return FullTransactionIdFromEpochAndXid(epoch, xid);
}

// Reads the copy on `q`; false if it would exceed family.kinship_cache_size
// or a parent is missing (links written behind the triggers' back).
bool build(const People& people, Snapshot q) {
    auto start = std::chrono::steady_clock::now();
    cache.drop();
    std::vector<PersonLinks> rows;
    std::size_t limit = static_cast<std::size_t>(cache_kb) * 1024 / kBytesPerPerson;
    // Reserved for as many persons as the table is thought to hold (32 +
    // 20 bytes a person while reading; more if reltuples is behind).
    float4 thought = people.table()->rd_rel->reltuples;
    rows.reserve(std::min(limit, static_cast<std::size_t>(std::max(thought, 0.0f)) + 1));
    Reading r{people.id(), people.father(), people.mother(), people.generation(), limit, &rows,
              false};
    call(read_persons, people.table(), q, &r);
    bool ok = !r.over;
    if (ok) {
        std::sort(rows.begin(), rows.end(),
                  [](const PersonLinks& x, const PersonLinks& y) { return x.id < y.id; });
        cache.ids.reserve(rows.size());
        // Room for the newcomers a walk may add before the copy is read again.
        cache.graph.reserve(rows.size() + rows.size() / 100 + kNewcomersAtMost);
        for (const PersonLinks& p : rows) cache.ids.push_back(p.id);
        for (const PersonLinks& p : rows) {
            int32 f = p.has_father ? cache.index_of(p.father) : kinship::ParentGraph::kNone;
            int32 m = p.has_mother ? cache.index_of(p.mother) : kinship::ParentGraph::kNone;
            if ((p.has_father && f < 0) || (p.has_mother && m < 0)) {
                ok = false;
                break;
            }
            cache.graph.add(f, m, p.generation);
        }
    }
    decltype(rows)().swap(rows);
    cache.in_order = ok && cache.graph.in_order(0, cache.graph.size());
    double spent = ms_since(start);
    if (!ok) {
        // Tried for nothing: try again once the index has cost as much.
        cache.drop();
        cache.build_ms = spent;
        return false;
    }
    SnapshotCopy& s = cache.seen;
    s.xmin = q->xmin;
    s.xmax = q->xmax;
    s.xip.assign(q->xip, q->xip + q->xcnt);
    s.subxip.assign(q->subxip, q->subxip + q->subxcnt);
    s.recovery = q->takenDuringRecovery;
    s.full_xmin = call(widen, q->xmin);
    cache.table = RelationGetRelid(people.table());
    cache.built = true;
    cache.build_ms = spent;
    call(
        [](int n, double ms) {
            elog(DEBUG1, "kinship: copied the parents of %d persons", n);
            elog(DEBUG2, "kinship: in %.1f ms", ms);
        },
        cache.graph.size(), spent);
    return true;
}

// Whether this call may walk the copy (read now if it is time to).
bool use_cache(const People& people) {
    Oid ns = RelationGetNamespace(people.table());
    Oid changes = call(get_relname_relid, "link_change", ns);
    Oid index = call(get_relname_relid, "link_change_xact", ns);
    // No copy when turned off, nor when nothing tells when it is stale: the
    // schema predates 0.8.0, or the database subscribes to a logical
    // publication (its apply worker fires no trigger of ours).
    if (cache_kb == 0 || !OidIsValid(changes) || !OidIsValid(index) || call(subscribes)) {
        if (cache.built) cache.drop();
        return false;
    }
    Snapshot q = call(GetActiveSnapshot);
    // A transaction that wrote sees its own changes, which no copy holds;
    // an overflowed snapshot does not list what it sees in progress.
    if (TransactionIdIsValid(GetTopTransactionIdIfAny()) || q->suboverflowed) return false;
    if (cache.built) {
        Freshness f = Freshness::kStale;  // family.person was dropped and made again
        // Snapshots compare their xids modulo 2^32: a copy read more than
        // 2^30 transactions ago is dropped before that can mislead.
        uint64 age = U64FromFullTransactionId(call(ReadNextFullTransactionId)) -
                     U64FromFullTransactionId(cache.seen.full_xmin);
        if (cache.table == RelationGetRelid(people.table()) && age < (uint64{1} << 30))
            call(check_freshness, q, changes, index, &cache.seen, &f);
        if (f == Freshness::kFresh) return true;
        if (f == Freshness::kOlder) return false;  // the copy stays for newer queries
        call([] { elog(DEBUG1, "kinship: the copy of the parents is stale"); });
        cache.drop();
    }
    double estimate = rent_ms >= 0          ? rent_ms
                      : cache.build_ms >= 0 ? cache.build_ms
                                            : kBuildMsPerBlock *
                                                  call(RelationGetNumberOfBlocksInFork,
                                                       people.table(), MAIN_FORKNUM);
    if (cache.rented_ms < estimate) return false;
    return build(people, q);
}

// The persons the copy lacks (inserted since it was read), a's and b's
// ancestors among them, added to its graph for one call and taken away
// after it, whatever happens.
class Newcomers {
  public:
    explicit Newcomers(People& people) : people_(people), cached_(cache.graph.size()) {}
    ~Newcomers() { cache.graph.resize(cached_); }
    Newcomers(const Newcomers&) = delete;
    Newcomers& operator=(const Newcomers&) = delete;

    // The index of a person already read (a, b).
    int32 index(int64 id, const kinship::Person& person) {
        int32 i = cache.index_of(id);
        if (i >= 0) return i;
        if (auto known = index_.find(id); known != index_.end()) return known->second;  // b above a
        std::vector<int64> queue{id};
        std::unordered_map<int64, kinship::Person> read{{id, person}};
        // Every new ancestor, read through the primary key, each once.
        for (std::size_t next = 0; next < queue.size(); ++next)
            for (const std::optional<int64>& parent :
                 {read.at(queue[next]).father, read.at(queue[next]).mother})
                if (parent && cache.index_of(*parent) < 0 && !index_.count(*parent) &&
                    !read.count(*parent)) {
                    read.emplace(*parent, people_.get(*parent).person);
                    queue.push_back(*parent);
                }
        for (int64 newcomer : queue) {
            index_[newcomer] = static_cast<int32>(ids_.size()) + cached_;
            ids_.push_back(newcomer);
        }
        auto parent_index = [&](const std::optional<int64>& parent) {
            if (!parent) return kinship::ParentGraph::kNone;
            int32 i = cache.index_of(*parent);
            return i >= 0 ? i : index_.at(*parent);
        };
        for (int64 newcomer : queue) {
            const kinship::Person& p = read.at(newcomer);
            cache.graph.add(parent_index(p.father), parent_index(p.mother), p.generation);
        }
        return index_.at(id);
    }
    int64 id_of(int32 index) const {
        return index < cached_ ? cache.ids[index] : ids_[index - cached_];
    }
    int32 find(int64 id) const {  // of a person met by the walk
        int32 i = cache.index_of(id);
        return i >= 0 ? i : index_.at(id);
    }
    bool in_order() const { return cache.graph.in_order(cached_, cache.graph.size()); }
    std::size_t count() const { return ids_.size(); }

  private:
    People& people_;
    int32 cached_;
    std::vector<int64> ids_;
    std::unordered_map<int64, int32> index_;
};

std::vector<kinship::Relation> walk_cached(People& people, PersonId a, const kinship::Person& ap,
                                           PersonId b, const kinship::Person& bp) {
    // What a sequential scan of the table would lock: this walk reads
    // persons no index scan touched.
    call(PredicateLockRelation, people.table(), call(GetActiveSnapshot));
    std::vector<kinship::Relation> found;
    bool many = false;
    {
        Newcomers newcomers(people);
        int32 ai = newcomers.index(a, ap), bi = newcomers.index(b, bp);
        const kinship::ParentGraph& g = cache.graph;
        std::optional<std::vector<kinship::Relation>> flat;
        if (cache.in_order && newcomers.in_order()) flat = cache.walk.run(g, ai, bi);
        if (flat) {
            found = std::move(*flat);
            for (kinship::Relation& r : found)
                r.ancestor = newcomers.id_of(static_cast<int32>(r.ancestor));
        } else {
            // Generations out of order (written behind the triggers' back):
            // the walk of the index path, by id, over the copy.
            found = kinship::nearest_common_ancestors(a, b, [&](PersonId id) {
                int32 i = newcomers.find(id);
                kinship::Person p;
                int32 f = g.father[i], m = g.mother[i];
                if (f != kinship::ParentGraph::kNone) p.father = newcomers.id_of(f);
                if (m != kinship::ParentGraph::kNone) p.mother = newcomers.id_of(m);
                p.generation = g.generation[i];
                return p;
            });
        }
        many = newcomers.count() > cache.ids.size() / 100 + kNewcomersAtMost;
    }
    if (many) {
        // Read the copy again at the next call: it lacks too many persons.
        cache.drop();
        cache.rented_ms = cache.build_ms;
    }
    std::sort(found.begin(), found.end(), [](const kinship::Relation& x, const kinship::Relation& y) {
        return std::tuple(x.up + x.down, x.up, x.ancestor) < std::tuple(y.up + y.down, y.up, y.ancestor);
    });
    return found;
}

struct KinRow {
    int64 ancestor;
    int up, down;
    std::string term;
};

std::vector<KinRow> kinship_of(PersonId a, PersonId b) {
    People people;
    People::Row a_row = people.get(a), b_row = people.get(b);
    std::vector<kinship::Relation> found;
    if (use_cache(people)) {
        found = walk_cached(people, a, a_row.person, b, b_row.person);
    } else {
        auto start = std::chrono::steady_clock::now();
        found = kinship::nearest_common_ancestors(
            a, b, [&](PersonId id) {
                return id == a ? a_row.person : id == b ? b_row.person : people.get(id).person;
            });
        cache.rented_ms += ms_since(start);
    }
    people.finish();
    // Siblings are half-siblings unless both their parents are known and
    // the same (counting the rows would not do: a parent who is also the
    // other parent's ancestor is no nearest common ancestor).
    const kinship::Person &a_person = a_row.person, &b_person = b_row.person;
    bool full = a_person.father && a_person.mother && a_person.father == b_person.father &&
                a_person.mother == b_person.mother;
    std::vector<KinRow> out;
    for (const kinship::Relation& r : found)
        out.push_back({r.ancestor, r.up, r.down, kinship::term(r.up, r.down, b_row.sex, !full)});
    return out;
}

}  // namespace

void kinship_init() {
    DefineCustomIntVariable(
        "family.kinship_cache_size",
        "Largest copy of every person's parents a backend keeps for family.kinship "
        "(20 bytes a person); 0 = none, every walk reads through the primary key.",
        nullptr, &cache_kb, 256 * 1024, 0, INT_MAX, PGC_SUSET, GUC_UNIT_KB, nullptr, nullptr,
        nullptr);
    DefineCustomIntVariable("family.kinship_rent_ms",
                            "Test hook: what walks through the primary key cost before "
                            "family.kinship copies the parents; -1 = what copying costs.",
                            nullptr, &rent_ms, -1, -1, INT_MAX, PGC_SUSET,
                            GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL, nullptr, nullptr, nullptr);
}

}  // namespace family::pg

using namespace family::pg;

extern "C" {
PG_FUNCTION_INFO_V1(family_kinship);

Datum family_kinship(PG_FUNCTION_ARGS) {
    return entry([&] {
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) fail("22023", "kinship: a and b must not be null");
        int64 a = PG_GETARG_INT64(0), b = PG_GETARG_INT64(1);
        call(InitMaterializedSRF, fcinfo, static_cast<bits32>(0));
        std::vector<KinRow> rows = kinship_of(a, b);
        call(
            [](ReturnSetInfo* rsinfo, const KinRow* rows, std::size_t n) {
                for (std::size_t i = 0; i < n; ++i) {
                    Datum values[4] = {
                        Int64GetDatum(rows[i].ancestor), Int32GetDatum(rows[i].up),
                        Int32GetDatum(rows[i].down),
                        PointerGetDatum(cstring_to_text_with_len(
                            rows[i].term.data(), static_cast<int>(rows[i].term.size())))};
                    bool nulls[4] = {false, false, false, false};
                    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
                }
            },
            reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo), rows.data(), rows.size());
        return Datum(0);
    });
}
}
