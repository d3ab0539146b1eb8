#include "pg.hpp"

extern "C" {
#include "access/stratnum.h"
#include "catalog/namespace.h"
#include "storage/bufmgr.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "catalog/pg_trigger.h"
#include "parser/parse_func.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/fmgroids.h"
#include "utils/acl.h"
#include "utils/memutils.h"
#include "utils/rls.h"
}

#include <algorithm>
#include <typeinfo>

namespace family::pg {

namespace {
// The rows a DerivedBatch is writing, while it writes them: each may pass
// the person trigger once (its write by the batch). Nested batches restore
// the outer one; plain C++ state, so the destructor also runs when a PgError
// unwinds through.
class InternalWrite {
  public:
    explicit InternalWrite(std::vector<int64> ids)
        : rows_(std::move(ids)), outer_(current) {
        std::sort(rows_.begin(), rows_.end());
        current = this;
    }
    ~InternalWrite() { current = outer_; }
    InternalWrite(const InternalWrite&) = delete;
    InternalWrite& operator=(const InternalWrite&) = delete;

    static InternalWrite* current;
    // The row's index, or -1.
    std::ptrdiff_t find(int64 id) const {
        auto it = std::lower_bound(rows_.begin(), rows_.end(), id);
        return it != rows_.end() && *it == id ? it - rows_.begin() : -1;
    }
    // The row the batch is writing, while its row triggers run: only that
    // write of it passes ours, once (not a row the batch skipped, nor any
    // other write a trigger makes meanwhile).
    void in_flight(int64 id) { in_flight_ = id; }
    void landed() { in_flight_.reset(); }
    bool pass(int64 id) {
        if (!in_flight_ || *in_flight_ != id) return false;
        in_flight_.reset();
        return true;
    }

  private:
    std::vector<int64> rows_;
    std::optional<int64> in_flight_;
    InternalWrite* outer_;
};
InternalWrite* InternalWrite::current = nullptr;

int sqlstate_code(const char* s) {
    return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}

ErrorData* make_error(int sqlerrcode, const char* message, const char* detail) {
    ErrorData* e = static_cast<ErrorData*>(palloc0(sizeof(ErrorData)));
    e->elevel = ERROR;
    e->output_to_server = true;
    e->output_to_client = true;
    e->sqlerrcode = sqlerrcode;
    e->message = pstrdup(message);
    e->detail = detail && *detail ? pstrdup(detail) : nullptr;
    return e;
}
}  // namespace

bool internal_write_of(int64 id) {
    return InternalWrite::current && InternalWrite::current->find(id) >= 0;
}

bool pass_internal_write(int64 id) {
    return InternalWrite::current && InternalWrite::current->pass(id);
}

bool detail::raised_pg_error(void (*thunk)(void*), void* frame) {
    volatile bool failed = false;
    PG_TRY();
    { thunk(frame); }
    PG_CATCH();
    { failed = true; }
    PG_END_TRY();
    return failed;
}

void throw_pg_error(MemoryContext context) {
    MemoryContextSwitchTo(context);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    throw PgError(edata);
}

ErrorData* capture_exception() {
    try {
        throw;
    } catch (const PgError& e) {
        return e.edata();
    } catch (const Error& e) {
        return make_error(sqlstate_code(e.sqlstate()), e.what(), e.detail().c_str());
    }
    // LCOV_EXCL_START: only a bug or an exhausted resource (std::bad_alloc)
    // gets here; our code throws nothing else, so no test input reaches it.
    catch (const std::exception& e) {
        std::string detail = std::string("C++ exception of type ") + typeid(e).name();
        return make_error(ERRCODE_INTERNAL_ERROR, e.what(), detail.c_str());
    } catch (...) {
        return make_error(ERRCODE_INTERNAL_ERROR, "unknown C++ exception in family", nullptr);
    }
    // LCOV_EXCL_STOP
}

void fail(const char* sqlstate, const std::string& message, const std::string& detail) {
    throw Error(sqlstate, message, detail);
}

Spi::Spi() {
    guc_nest_level_ = call([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "family: SPI_connect failed");
        int level = NewGUCNestLevel();
        set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
        // Generic plans of our statements can look costly enough to compile
        // (10+ ms each run) though they touch a handful of rows.
        set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                          false);
        // Our statements are written for their indexes. A generic plan is
        // made once, perhaps while a table is empty or not yet analyzed,
        // when a planner would rather scan it whole: kept, such a plan
        // reads the whole table for every row or step afterwards.
        set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                          true, 0, false);
        return level;
    });
}

void Spi::finish() {
    call(
        [](int level) {
            AtEOXact_GUC(true, level);
            SPI_finish();
        },
        guc_nest_level_);
}

namespace {

// An index scan for rows whose leading int8 key columns equal `keys`.
IndexScanDesc begin_scan(Relation table, Relation index, Snapshot snapshot, const int64* keys,
                         int nkeys) {
    ScanKeyData scankeys[INDEX_MAX_KEYS];
    for (int i = 0; i < nkeys; ++i)
        ScanKeyInit(&scankeys[i], static_cast<AttrNumber>(i + 1), BTEqualStrategyNumber, F_INT8EQ,
                    Int64GetDatum(keys[i]));
    IndexScanDesc scan = index_beginscan(table, index, snapshot, nkeys, 0);
    index_rescan(scan, scankeys, nkeys, nullptr, 0);
    return scan;
}

// Locks a row this command found (at `tid`), as ExecLockRows does: at READ
// COMMITTED its latest version, waiting for a writer, returned in `slot`
// (false if it was deleted meanwhile); with a fixed snapshot a change since
// it is a serialization failure. PostgreSQL calls only: for call()'s side.
bool lock_found_row(Relation table, ItemPointer tid, Snapshot snapshot, TupleTableSlot* slot,
                    CommandId cid, LockTupleMode mode, int flags, TM_FailureData* failure) {
    bool fixed = IsolationUsesXactSnapshot();
    TM_Result result =
        table_tuple_lock(table, tid, snapshot, slot, cid, mode, LockWaitBlock,
                         flags | (fixed ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION), failure);
    switch (result) {
        case TM_Ok:
            return true;
        case TM_Updated:
        case TM_Deleted:
            if (fixed)
                ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                                errmsg("could not serialize access due to concurrent %s",
                                       result == TM_Updated ? "update" : "delete")));
            return false;
        // LCOV_EXCL_START: TM_SelfModified, TM_Invisible, TM_BeingModified,
        // TM_WouldBlock: not for a row this command found visible after
        // CommandCounterIncrement(), locked with LockWaitBlock.
        default:
            elog(ERROR, "family: unexpected result %d locking a row", static_cast<int>(result));
            // LCOV_EXCL_STOP
    }
}

// RowReader::lock's work, all of it PostgreSQL calls: run through call(),
// it owns nothing that needs a destructor.
bool lock_row(Relation table, TupleTableSlot* slot, Oid index_oid, const int64* keys, int nkeys,
              LockTupleMode mode, const RowReader::Test& accept) {
    Relation index = index_open(index_oid, AccessShareLock);
    Snapshot snapshot = GetActiveSnapshot();
    IndexScanDesc scan = begin_scan(table, index, snapshot, keys, nkeys);
    bool found = false;
    while (!found && index_getnext_slot(scan, ForwardScanDirection, slot)) {
        // A row this transaction inserted: no other one sees it, so none
        // can lock, change or delete it before this one ends; a lock would
        // hold nothing back (an import's parents, a statement's earlier rows).
        bool should_free = false;
        HeapTuple tuple = ExecFetchSlotHeapTuple(slot, false, &should_free);
        if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmin(tuple->t_data))) {
            found = !accept.test || accept.test(slot, accept.arg);
            continue;
        }
        TM_FailureData failure;
        ItemPointerData tid = slot->tts_tid;
        if (lock_found_row(table, &tid, snapshot, slot, GetCurrentCommandId(false), mode,
                           TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS, &failure))
            found = !accept.test || accept.test(slot, accept.arg);
        // else deleted meanwhile: the next one, if any
    }
    index_endscan(scan);
    index_close(index, NoLock);  // held until the transaction ends, as a query's
    return found;
}

// RowReader::scan_latest's and Scanner::scan's work, through call(): on the
// given snapshot, or a new one if none.
void scan_rows(Relation table, TupleTableSlot* slot, Oid index_oid, const int64* keys, int nkeys,
               const RowReader::Test& visit, Snapshot given) {
    Relation index = index_open(index_oid, AccessShareLock);
    Snapshot snapshot = RegisterSnapshot(given ? given : GetLatestSnapshot());
    IndexScanDesc scan = begin_scan(table, index, snapshot, keys, nkeys);
    while (index_getnext_slot(scan, ForwardScanDirection, slot) && visit.test(slot, visit.arg)) {
    }
    index_endscan(scan);
    UnregisterSnapshot(snapshot);
    index_close(index, NoLock);
}

}  // namespace

RowReader::RowReader() {
    call([] {
        // As SPI does for a query that may write: what this command wrote so
        // far becomes visible.
        CommandCounterIncrement();
        PushActiveSnapshot(GetTransactionSnapshot());
        UpdateActiveSnapshotCommandId();
    });
}

TupleTableSlot* RowReader::slot_for(Relation table) {
    for (const auto& [t, slot] : slots_)
        if (t == table) return slot;
    TupleTableSlot* slot = call(table_slot_create, table, static_cast<List**>(nullptr));
    slots_.emplace_back(table, slot);
    return slot;
}

bool RowReader::lock(Relation table, Oid index, std::initializer_list<int64> keys,
                     LockTupleMode mode, Test accept) {
    TupleTableSlot* slot = last_ = slot_for(table);
    return call(lock_row, table, slot, index, keys.begin(), static_cast<int>(keys.size()), mode,
                accept);
}

bool RowReader::fetch(Relation table, ItemPointerData position) {
    TupleTableSlot* slot = last_ = slot_for(table);
    return call(
        [](Relation table, ItemPointerData position, TupleTableSlot* slot) {
            // A table truncated since may hold fewer blocks (perhaps none):
            // only one whose file is new in this transaction (created, or
            // truncated).
            bool new_file = table->rd_createSubid != InvalidSubTransactionId ||
                            table->rd_firstRelfilenodeSubid != InvalidSubTransactionId;
            return (!new_file ||
                    ItemPointerGetBlockNumber(&position) < RelationGetNumberOfBlocks(table)) &&
                   table_tuple_fetch_row_version(table, &position, GetActiveSnapshot(), slot);
        },
        table, position, slot);
}

void RowReader::scan_latest(Relation table, Oid index, std::initializer_list<int64> keys,
                            Test visit) {
    TupleTableSlot* slot = last_ = slot_for(table);
    call(scan_rows, table, slot, index, keys.begin(), static_cast<int>(keys.size()), visit,
         static_cast<Snapshot>(nullptr));
}

bool RowReader::check(Test accept) {
    return call(accept.test, last_, accept.arg);
}

std::optional<int64> RowReader::int_at(int attnum) {
    bool isnull = false;
    Datum d = call(slot_getattr, last_, attnum, &isnull);
    if (isnull) return std::nullopt;
    // int4 (generation) or int8 (ids).
    if (TupleDescAttr(last_->tts_tupleDescriptor, attnum - 1)->atttypid == INT4OID)
        return DatumGetInt32(d);
    return DatumGetInt64(d);
}

std::vector<double> RowReader::float8s_at(int attnum) {
    int n = 0;
    ArrayType* a = call(
        [](TupleTableSlot* slot, int attnum, int* n) {
            bool isnull = false;
            Datum d = slot_getattr(slot, attnum, &isnull);
            if (isnull) return static_cast<ArrayType*>(nullptr);
            ArrayType* a = DatumGetArrayTypeP(d);
            *n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
            return a;
        },
        last_, attnum, &n);
    if (!a) return {};
    const double* data = reinterpret_cast<const double*>(ARR_DATA_PTR(a));
    return std::vector<double>(data, data + n);
}

void RowReader::finish() {
    for (const auto& entry : slots_) call(ExecDropSingleTupleTableSlot, entry.second);
    call(PopActiveSnapshot);
    slots_.clear();
}

Scanner::Scanner(const char* table) {
    Oid relid = relation_named(table, call(get_namespace_oid, "family", false));
    call(
        [](Oid relid) {
            AclResult ok = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
            if (ok != ACLCHECK_OK) aclcheck_error(ok, OBJECT_TABLE, get_rel_name(relid));
            if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
                ereport(ERROR,
                        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                         errmsg("family: %s has row-level security enabled, which the "
                                "extension's walks do not apply",
                                get_rel_name(relid)),
                         errhint("Disable row-level security on it, or read it with queries.")));
        },
        relid);
    table_ = call(table_open, relid, AccessShareLock);
    slot_ = call(table_slot_create, table_, static_cast<List**>(nullptr));
}

Oid Scanner::index(const char* name) const {
    return relation_named(name, RelationGetNamespace(table_));
}

Oid Scanner::primary_key() const {
    return call(RelationGetPrimaryKeyIndex, table_);
}

void Scanner::scan(Oid index, std::initializer_list<int64> keys, RowReader::Test visit) {
    call(scan_rows, table_, slot_, index, keys.begin(), static_cast<int>(keys.size()), visit,
         call(GetActiveSnapshot));
}

void Scanner::finish() {
    call(ExecDropSingleTupleTableSlot, slot_);
    call(table_close, table_, NoLock);  // as a query's: until the transaction ends
}

uint64 Statement::run(const std::vector<Datum>& args, Reads reads) {
    // No argument is ever null: every caller passes values.
    std::vector<char> flags(args.size(), ' ');
    if (!plan_)
        plan_ = call(
            [](const char* sql, int n, Oid* types) {
                // A generic plan: planned once, not again for every call (the
                // custom plans PostgreSQL tries first cost more than they save).
                SPIPlanPtr plan = SPI_prepare_cursor(sql, n, types, CURSOR_OPT_GENERIC_PLAN);
                if (!plan) elog(ERROR, "family: SPI_prepare failed for %s", sql);
                SPI_keepplan(plan);
                return plan;
            },
            sql_, static_cast<int>(types_.size()), types_.data());
    return call(
        [](SPIPlanPtr plan, Datum* values, const char* nulls, Reads reads, const char* sql) {
            int rc = 0;
            if (reads == Reads::Latest)
                rc = SPI_execute_snapshot(
                    plan, values, nulls, GetLatestSnapshot(),
                    IsolationUsesXactSnapshot() ? GetTransactionSnapshot() : InvalidSnapshot,
                    false, true, 0);
            else
                rc = SPI_execute_plan(plan, values, nulls, reads == Reads::Stable, 0);
            if (rc < 0) elog(ERROR, "family: SPI error %d for %s", rc, sql);
            return SPI_processed;
        },
        plan_, const_cast<Datum*>(args.data()), static_cast<const char*>(flags.data()), reads,
        sql_);
}

Oid relation_named(const char* name, Oid ns) {
    Oid relid = call(get_relname_relid, name, ns);
    if (relid == InvalidOid)
        fail("42P01", std::string("family: relation ") + name + " is missing",
             "It was dropped or renamed: the extension needs it. Restore it, or reinstall the "
             "extension.");
    return relid;
}

int column(Relation table, const char* name) {
    int n = SPI_fnumber(RelationGetDescr(table), name);
    if (n <= 0)
        fail("42703",
             std::string("family: table ") + RelationGetRelationName(table) + " has no column " +
                 name,
             "It was renamed or dropped: the extension's triggers need it. Restore it, or "
             "reinstall the extension.");
    return n;
}

std::optional<int64> col_int64(uint64 row, int col) {
    bool isnull = false;
    Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
    if (isnull) return std::nullopt;
    switch (TupleDescAttr(SPI_tuptable->tupdesc, col - 1)->atttypid) {
        case INT2OID:
            return DatumGetInt16(d);
        case INT4OID:
            return DatumGetInt32(d);
        default:
            return DatumGetInt64(d);
    }
}

std::optional<double> col_float8(uint64 row, int col) {
    bool isnull = false;
    Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
    if (isnull) return std::nullopt;
    return DatumGetFloat8(d);
}

std::string col_text(uint64 row, int col) {
    char* v = call(SPI_getvalue, SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
    return v ? v : "";
}

RankVector col_ranks(uint64 row, int sums_col, int counts_col) {
    RankVector out;
    for (auto [col, target] :
         {std::pair{sums_col, &out.sums}, std::pair{counts_col, &out.counts}}) {
        bool isnull = false;
        Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
        if (isnull) continue;
        Datum* elems = nullptr;
        int n = 0;
        call(
            [](Datum d, Datum** elems, int* n) {
                deconstruct_array(DatumGetArrayTypeP(d), FLOAT8OID, sizeof(float8),
                                  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, elems, nullptr, n);
            },
            d, &elems, &n);
        target->reserve(n);
        for (int i = 0; i < n; ++i) target->push_back(DatumGetFloat8(elems[i]));
    }
    return out;
}

Links col_links(uint64 row) {
    return {*col_int64(row, 1), col_int64(row, 2), col_int64(row, 3),
            static_cast<int>(col_int64(row, 4).value_or(0)),
            static_cast<int>(col_int64(row, 5).value_or(0))};
}

namespace {
template <typename T, typename ToDatum>
Datum make_array(const std::vector<T>& values, Oid type, int len, bool byval, char align,
                 ToDatum to_datum) {
    std::vector<Datum> datums;
    datums.reserve(values.size());
    for (const T& v : values) datums.push_back(to_datum(v));
    return PointerGetDatum(call(construct_array, datums.data(), static_cast<int>(datums.size()),
                                type, len, byval, align));
}

template <typename T, typename ToDatum>
Datum make_nullable_array(const std::vector<std::optional<T>>& values, Oid type, int len,
                          bool byval, char align, ToDatum to_datum) {
    std::vector<Datum> datums;
    std::vector<char> nulls;  // bool-sized
    for (const std::optional<T>& v : values) {
        datums.push_back(v ? to_datum(*v) : Datum(0));
        nulls.push_back(!v);
    }
    int dims[1] = {static_cast<int>(datums.size())};
    int lbs[1] = {1};
    return PointerGetDatum(call(construct_md_array, datums.data(),
                                reinterpret_cast<bool*>(nulls.data()), 1, &dims[0], &lbs[0], type,
                                len, byval, align));
}
}  // namespace

Datum int64_array(const std::vector<int64>& values) {
    return make_array(values, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                      [](int64 v) { return Int64GetDatum(v); });
}

Datum float8_array(const std::vector<double>& values) {
    return make_array(values, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                      [](double v) { return Float8GetDatum(v); });
}

Datum int32_array(const std::vector<int32>& values) {
    return make_array(values, INT4OID, sizeof(int32), true, TYPALIGN_INT,
                      [](int32 v) { return Int32GetDatum(v); });
}

Datum nullable_int64_array(const std::vector<std::optional<int64>>& values) {
    return make_nullable_array(values, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                               [](int64 v) { return Int64GetDatum(v); });
}

Datum text_array(const std::vector<std::string>& values) {
    return call(
        [](const std::string* values, int n) {
            // The texts live in the current memory context, like the array.
            Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1)));
            for (int i = 0; i < n; ++i)
                datums[i] = PointerGetDatum(cstring_to_text_with_len(
                    values[i].data(), static_cast<int>(values[i].size())));
            return PointerGetDatum(construct_array(datums, n, TEXTOID, -1, false, TYPALIGN_INT));
        },
        values.data(), static_cast<int>(values.size()));
}

Datum text_datum(const std::string& value) {
    return PointerGetDatum(
        call(cstring_to_text_with_len, value.data(), static_cast<int>(value.size())));
}

std::string timestamp_text(TimestampTz t) {
    return call(timestamptz_to_str, t);  // a static buffer: copied at once
}

std::string database_name() {
    return call(get_database_name, MyDatabaseId);
}

void notify_changed(const std::vector<int64>& persons) {
    // Past this many in one transaction (a bulk load, a rank change over a
    // big family), one "*" says "everything": listeners drop their whole
    // cache, and the queue stays small. Every later change sends "*" again
    // (PostgreSQL folds repeats), so a rolled-back subtransaction that sent
    // the first one loses nothing.
    constexpr int kMostPerTransaction = 1000;
    static LocalTransactionId transaction = InvalidLocalTransactionId;
    static int sent = 0;
    if (MyProc->lxid != transaction) {
        transaction = MyProc->lxid;
        sent = 0;
    }
    for (int64 id : persons) {
        std::string payload = ++sent > kMostPerTransaction ? "*" : std::to_string(id);
        call(Async_Notify, "family_person", payload.c_str());
        if (sent > kMostPerTransaction) return;
    }
}

void DerivedBatch::add(const Links& links, const Derived& d) {
    auto rank = [](const std::optional<PersonId>& parent, int r) {
        return parent ? std::optional<int64>(r) : std::nullopt;
    };
    ids_.push_back(links.id);
    fathers_.push_back(links.father);
    mothers_.push_back(links.mother);
    father_ranks_.push_back(rank(links.father, links.father_rank));
    mother_ranks_.push_back(rank(links.mother, links.mother_rank));
    generations_.push_back(d.generation);
    ranks_.push_back(ancestor_rank(d.ranks));
    // SQL array slices are 1-based and inclusive; an empty one has lo > hi.
    lo_.push_back(static_cast<int32>(sums_.size() + 1));
    sums_.insert(sums_.end(), d.ranks.sums.begin(), d.ranks.sums.end());
    counts_.insert(counts_.end(), d.ranks.counts.begin(), d.ranks.counts.end());
    hi_.push_back(static_cast<int32>(sums_.size()));
}

PersonColumns::PersonColumns(Relation d)
    : id(column(d, "id")),
      father_id(column(d, "father_id")),
      mother_id(column(d, "mother_id")),
      father_rank(column(d, "father_rank")),
      mother_rank(column(d, "mother_rank")),
      generation(column(d, "generation")),
      rank(column(d, "ancestor_relationship_rank")),
      sums(column(d, "link_rank_sums")),
      counts(column(d, "link_counts")),
      updated_at(column(d, "updated_at")) {}

namespace {
std::optional<PersonColumns> columns;
Oid columns_table = InvalidOid;

// An int2 or int8 column of a slot (ranks, ids).
std::optional<int64> slot_int(TupleTableSlot* slot, int col) {
    bool isnull = false;
    Datum v = slot_getattr(slot, col, &isnull);
    if (isnull) return std::nullopt;
    return TupleDescAttr(slot->tts_tupleDescriptor, col - 1)->atttypid == INT2OID
               ? DatumGetInt16(v)
               : DatumGetInt64(v);
}

// Whether a float8[] datum holds exactly these values.
bool same_float8s(Datum array, const double* values, int n) {
    ArrayType* a = DatumGetArrayTypeP(array);
    // As array equality: dimensions and lower bound too.
    if (ARR_HASNULL(a) || ARR_NDIM(a) != (n ? 1 : 0) ||
        ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != n || (n && ARR_LBOUND(a)[0] != 1))
        return false;
    const double* stored = reinterpret_cast<const double*>(ARR_DATA_PTR(a));
    return std::equal(values, values + n, stored);
}

Datum float8s(const double* values, int n) {
    Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * std::max(n, 1)));
    for (int i = 0; i < n; ++i) datums[i] = Float8GetDatum(values[i]);
    return PointerGetDatum(
        construct_array(datums, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
}  // namespace

void forget_columns(Datum, Oid table) {
    if (table == InvalidOid || table == columns_table) columns.reset();
}

const PersonColumns& columns_of(Relation table) {
    if (!columns || columns_table != RelationGetRelid(table)) {
        columns.reset();
        columns.emplace(table);
        columns_table = RelationGetRelid(table);
    }
    return *columns;
}

// write()'s work, all of it PostgreSQL calls: run through call(), it owns
// nothing that needs a destructor (it only appends to *written).
void DerivedBatch::write_rows(const DerivedBatch* b, Relation table, const PersonColumns* c,
                              std::vector<int64>* written) {
    // As SPI does for a query that may write: what this command wrote so far
    // becomes visible, and at READ COMMITTED a new snapshot sees what others
    // committed.
    CommandCounterIncrement();
    PushActiveSnapshot(GetTransactionSnapshot());
    UpdateActiveSnapshotCommandId();
    Snapshot snapshot = GetActiveSnapshot();

    // An executor state for one result relation, as logical replication's
    // apply worker makes it.
    EState* estate = CreateExecutorState();
    MemoryContext caller = MemoryContextSwitchTo(estate->es_query_cxt);
    RangeTblEntry* rte = makeNode(RangeTblEntry);
    rte->rtekind = RTE_RELATION;
    rte->relid = RelationGetRelid(table);
    rte->relkind = table->rd_rel->relkind;
    rte->rellockmode = RowExclusiveLock;
    // What an UPDATE of them would say it updates: triggers on these columns
    // (UPDATE OF ...) fire, and index AMs hear which columns change.
    for (int col : {c->generation, c->rank, c->sums, c->counts, c->updated_at})
        rte->updatedCols = bms_add_member(rte->updatedCols, col - FirstLowInvalidHeapAttributeNumber);
    ExecInitRangeTable(estate, list_make1(rte));
    ResultRelInfo* target = makeNode(ResultRelInfo);
    InitResultRelInfo(target, table, 1, nullptr, 0);
    estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, target);
    estate->es_output_cid = GetCurrentCommandId(true);
    estate->es_snapshot = snapshot;
    ExecOpenIndices(target, false);
    EPQState epq;
    EvalPlanQualInit(&epq, estate, nullptr, NIL, -1);
    AfterTriggerBeginQuery();

    CheckCmdReplicaIdentity(table, CMD_UPDATE);
    // Row triggers that run before an update, other than ours (which lets
    // the batch's rows through).
    Oid ours = LookupFuncName(list_make2(makeString(pstrdup("family")),
                                         makeString(pstrdup("person_before_write"))),
                              0, nullptr, true);
    bool user_trigger = false;
    for (int t = 0; target->ri_TrigDesc && t < target->ri_TrigDesc->numtriggers; ++t) {
        const Trigger& trigger = target->ri_TrigDesc->triggers[t];
        user_trigger |= TRIGGER_FOR_ROW(trigger.tgtype) && TRIGGER_FOR_BEFORE(trigger.tgtype) &&
                        TRIGGER_FOR_UPDATE(trigger.tgtype) && trigger.tgfoid != ours;
    }
    TupleDesc d = RelationGetDescr(table);
    TupleTableSlot* row = table_slot_create(table, &estate->es_tupleTable);
    TupleTableSlot* next = ExecInitExtraTupleSlot(estate, d, &TTSOpsVirtual);
    Relation key = index_open(RelationGetPrimaryKeyIndex(table), AccessShareLock);
    IndexScanDesc scan = index_beginscan(table, key, snapshot, 1, 0);
    Datum now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());

    for (std::size_t i = 0; i < b->ids_.size(); ++i) {
        CHECK_FOR_INTERRUPTS();
        // The scan's state lives as long as the scan; what one row needs,
        // as long as the row.
        MemoryContextSwitchTo(estate->es_query_cxt);
        ResetPerTupleExprContext(estate);
        const double* sums = b->sums_.data() + b->lo_[i] - 1;
        const double* counts = b->counts_.data() + b->lo_[i] - 1;
        int depth = b->hi_[i] - b->lo_[i] + 1;
        // The row still has the links the values were derived from, and
        // some stored value differs.
        auto wanted = [&] {
            if (slot_int(row, c->father_id) != b->fathers_[i] ||
                slot_int(row, c->mother_id) != b->mothers_[i] ||
                slot_int(row, c->father_rank) != b->father_ranks_[i] ||
                slot_int(row, c->mother_rank) != b->mother_ranks_[i])
                return false;
            bool isnull = false;
            if (DatumGetInt32(slot_getattr(row, c->generation, &isnull)) != b->generations_[i])
                return true;
            Datum rank = slot_getattr(row, c->rank, &isnull);
            if (isnull != !b->ranks_[i] || (!isnull && DatumGetFloat8(rank) != *b->ranks_[i]))
                return true;
            return !same_float8s(slot_getattr(row, c->sums, &isnull), sums, depth) ||
                   !same_float8s(slot_getattr(row, c->counts, &isnull), counts, depth);
        };
        ScanKeyData k;
        ScanKeyInit(&k, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(b->ids_[i]));
        index_rescan(scan, &k, 1, nullptr, 0);
        bool found = index_getnext_slot(scan, ForwardScanDirection, row);
        MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
        if (!found || !wanted()) continue;
        // The latest version of the row, locked, at READ COMMITTED (with a
        // fixed snapshot a change since it is a serialization failure); false
        // if it is gone or no longer wanted.
        auto lock_latest = [&] {
            TM_FailureData failure;
            ItemPointerData tid = row->tts_tid;
            return lock_found_row(table, &tid, snapshot, row, estate->es_output_cid,
                                  LockTupleNoKeyExclusive, 0, &failure) &&
                   (!failure.traversed || wanted());
        };
        // The row with the derived values, checked as an UPDATE checks it.
        auto compose = [&] {
            slot_getallattrs(row);
            ExecClearTuple(next);
            std::copy(row->tts_values, row->tts_values + d->natts, next->tts_values);
            std::copy(row->tts_isnull, row->tts_isnull + d->natts, next->tts_isnull);
            next->tts_values[c->generation - 1] = Int32GetDatum(b->generations_[i]);
            next->tts_isnull[c->rank - 1] = !b->ranks_[i];
            next->tts_values[c->rank - 1] = Float8GetDatum(b->ranks_[i].value_or(0));
            next->tts_values[c->sums - 1] = float8s(sums, depth);
            next->tts_isnull[c->sums - 1] = false;
            next->tts_values[c->counts - 1] = float8s(counts, depth);
            next->tts_isnull[c->counts - 1] = false;
            next->tts_values[c->updated_at - 1] = now;
            next->tts_isnull[c->updated_at - 1] = false;
            ExecStoreVirtualTuple(next);
        };
        auto check = [&] {
            if (d->constr && d->constr->has_generated_stored)
                ExecComputeStoredGenerated(target, estate, next, CMD_UPDATE);
            if (d->constr) ExecConstraints(target, next, estate);
        };
        bool should_free = false;
        HeapTuple tuple = ExecFetchSlotHeapTuple(row, false, &should_free);
        bool own = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmin(tuple->t_data));
        // A user's row trigger gets the row locked, as an UPDATE with row
        // triggers locks it (GetTupleForTrigger). Without one, no lock first:
        // the update waits for a concurrent writer of the row, and follows
        // its change only if there is one.
        if (user_trigger && !own && !lock_latest()) continue;
        compose();
        if (user_trigger) {
            InternalWrite::current->in_flight(b->ids_[i]);
            bool keep =
                ExecBRUpdateTriggers(estate, &epq, target, &row->tts_tid, nullptr, next, nullptr);
            InternalWrite::current->landed();
            if (!keep) continue;  // the user's trigger skipped it
            // Its descendants would keep values derived from the old links.
            for (int col : {c->father_id, c->mother_id, c->father_rank, c->mother_rank})
                if (slot_int(row, col) != slot_int(next, col))
                    ereport(ERROR,
                            (errcode(ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION),
                             errmsg("person %ld: a trigger changed its parent links while the "
                                    "extension wrote its derived values",
                                    static_cast<long>(b->ids_[i])),
                             errhint("Change parent links with a statement of their own.")));
        }
        check();
        bool done = false, update_indexes = false;
        for (;;) {
            TM_FailureData failure;
            LockTupleMode mode;
            ItemPointerData tid = row->tts_tid;
            TM_Result result = table_tuple_update(table, &tid, next, estate->es_output_cid,
                                                  snapshot, InvalidSnapshot, true, &failure,
                                                  &mode, &update_indexes);
            if (result == TM_Ok) {
                done = true;
                break;
            }
            // LCOV_EXCL_START: TM_SelfModified, TM_Invisible, TM_BeingModified,
            // TM_WouldBlock: as for the lock above, not for a row found visible
            // after CommandCounterIncrement(), written with wait.
            if (result != TM_Updated && result != TM_Deleted)
                elog(ERROR, "family: unexpected result %d writing a row",
                     static_cast<int>(result));
            // LCOV_EXCL_STOP
            if (!lock_latest()) break;
            compose();
            check();
        }
        if (!done) continue;  // gone, or its links changed meanwhile
        List* recheck = NIL;
        if (target->ri_NumIndices > 0 && update_indexes)
            recheck = ExecInsertIndexTuples(target, next, estate, true, false, nullptr, NIL);
        ExecARUpdateTriggers(estate, target, nullptr, nullptr, &row->tts_tid, nullptr, next,
                             recheck, nullptr, false);
        written->push_back(b->ids_[i]);
    }
    MemoryContextSwitchTo(estate->es_query_cxt);
    index_endscan(scan);
    index_close(key, NoLock);  // held until the transaction ends, as a query's
    AfterTriggerEndQuery(estate);
    EvalPlanQualEnd(&epq);
    ExecCloseResultRelations(estate);
    ExecResetTupleTable(estate->es_tupleTable, false);
    MemoryContextSwitchTo(caller);
    FreeExecutorState(estate);
    PopActiveSnapshot();
}

std::vector<int64> DerivedBatch::write() {
    std::vector<int64> written;
    if (ids_.empty()) return written;
    Oid relid = relation_named("person", call(get_namespace_oid, "family", false));
    // Rows are written without a query, so no policy would apply: as for the
    // walks (Scanner), row-level security is refused, not bypassed.
    call(
        [](Oid relid) {
            if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
                ereport(ERROR,
                        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                         errmsg("family: %s has row-level security enabled, which the "
                                "extension's writes of derived values do not apply",
                                get_rel_name(relid)),
                         errhint("Disable row-level security on it.")));
        },
        relid);
    Relation table = call(table_open, relid, static_cast<LOCKMODE>(RowExclusiveLock));
    // A copy: the cache may be reset by an invalidation while we write.
    const PersonColumns c = columns_of(table);
    InternalWrite scope(ids_);
    call(write_rows, static_cast<const DerivedBatch*>(this), table, &c, &written);
    call(table_close, table, static_cast<LOCKMODE>(NoLock));
    return written;
}

}  // namespace family::pg
