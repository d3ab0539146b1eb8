// The boundary between C++ and PostgreSQL. The one rule (see CONTRIBUTING.md):
// a PostgreSQL error (a longjmp) never crosses a C++ frame that owns objects,
// and a C++ exception never crosses a PostgreSQL frame.
//  - C++ code calls anything that may ereport() through call(): the error is
//    caught right there and rethrown as a PgError exception. What call()
//    runs is a plain function with plain arguments, owning nothing.
//  - Every extern "C" entry point runs its C++ body through entry(), which
//    catches every exception and raises it with ereport(ERROR) only once the
//    C++ stack has unwound.
// Only the boundary's .cpp files include this header.
#pragma once

extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include <exception>
#include <initializer_list>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "lineage.hpp"

namespace family::pg {

// A PostgreSQL error caught below C++ frames, on its way up to entry().
class PgError : public std::exception {
  public:
    explicit PgError(ErrorData* edata) : edata_(edata) {}
    ErrorData* edata() const { return edata_; }

  private:
    ErrorData* edata_;
};

[[noreturn]] void throw_pg_error(MemoryContext context);

// call(f, args...): runs f(args...) - a PostgreSQL function, or a function
// of ours (a lambda without captures will do) that only calls PostgreSQL -
// and turns a PostgreSQL error raised there into a PgError, thrown once
// PG_TRY's frame is gone. What f gets and returns is passed by value and
// must be trivially destructible, and a lambda that captures anything does
// not compile: a longjmp out of f skips no destructor of the caller's. (That
// f's own body owns nothing is what review checks: it is a plain function.)
namespace detail {
// Runs thunk(frame) inside PG_TRY; true if it raised a PostgreSQL error
// (still the current error, for throw_pg_error).
bool raised_pg_error(void (*thunk)(void*), void* frame);
}  // namespace detail

template <typename R, typename... P, typename... A>
R call(R (*f)(P...), A... args) {
    static_assert((std::is_trivially_destructible_v<A> && ...),
                  "call(): arguments must own nothing (pass pointers to C++ objects)");
    static_assert(std::is_void_v<R> || std::is_trivially_destructible_v<R>,
                  "call(): the result must own nothing");
    // Lives in this frame, which the longjmp (to raised_pg_error's PG_TRY)
    // does not cross.
    struct Frame {
        R (*f)(P...);
        std::tuple<A...> args;
        std::conditional_t<std::is_void_v<R>, bool, R> result;
        std::exception_ptr cpp_error;
    } frame{f, {args...}, {}, nullptr};
    auto thunk = [](void* p) {
        Frame& fr = *static_cast<Frame*>(p);
        // A C++ exception (std::bad_alloc from a container f fills through a
        // pointer) must not leave PG_TRY's frame without PG_END_TRY restoring
        // the error stack.
        try {
            if constexpr (std::is_void_v<R>)
                std::apply(fr.f, fr.args);
            else
                fr.result = std::apply(fr.f, fr.args);
        } catch (...) {  // LCOV_EXCL_START: only on std::bad_alloc
            fr.cpp_error = std::current_exception();
        }  // LCOV_EXCL_STOP
    };
    MemoryContext context = CurrentMemoryContext;
    bool failed = detail::raised_pg_error(thunk, &frame);
    if (frame.cpp_error) std::rethrow_exception(frame.cpp_error);  // LCOV_EXCL_LINE: as above
    if (failed) throw_pg_error(context);
    if constexpr (!std::is_void_v<R>) return frame.result;
}

// A lambda: only one without captures converts to a function pointer.
template <typename F, typename... A, typename = std::enable_if_t<std::is_class_v<F>>>
auto call(F f, A... args) {
    return call(+f, args...);
}

// Converts the exception being handled into a PostgreSQL error, allocated in
// PostgreSQL memory. Called only from entry()'s catch handler.
ErrorData* capture_exception();

template <typename F>
Datum entry(F&& body) {
    ErrorData* error = nullptr;
    try {
        return body();
    } catch (...) {
        error = capture_exception();
    }
    // The C++ stack of the body and the exception object are gone: only now
    // may we longjmp.
    ReThrowError(error);
}

// A prepared statement kept for the life of the backend (SPI_keepplan).
class Statement {
  public:
    Statement(const char* sql, std::initializer_list<Oid> types) : sql_(sql), types_(types) {}
    // Which snapshot a run reads (and writes through):
    //  - Fresh: a new one per run at READ COMMITTED, the transaction's at
    //    REPEATABLE READ and SERIALIZABLE (what triggers need);
    //  - Stable: the calling query's, for every run of a STABLE function;
    //  - Latest: one taken now whatever the isolation level; a write on it
    //    at REPEATABLE READ or SERIALIZABLE raises 40001 on a row the
    //    transaction's snapshot cannot see.
    enum class Reads { Fresh, Stable, Latest };
    // Runs it inside the current SPI connection; returns SPI_processed.
    uint64 run(const std::vector<Datum>& args, Reads reads = Reads::Fresh);

  private:
    const char* sql_;
    std::vector<Oid> types_;
    SPIPlanPtr plan_ = nullptr;
};

// An SPI connection, with search_path pinned to pg_catalog while it is open:
// operators and functions in our SQL resolve there whatever the caller's
// path (a cached plan is re-analyzed under the path in force when it runs).
// JIT is off meanwhile.
// Only finish() closes it: on an error the transaction's abort cleans up.
class Spi {
  public:
    Spi();
    void finish();

  private:
    int guc_nest_level_ = 0;
};

// Rows read as a new query of the current command would read them (rows the
// statement wrote so far included), without SPI and the executor: found
// through an index and locked like SELECT ... FOR SHARE, FOR KEY SHARE or
// FOR NO KEY UPDATE, or read unlocked on a snapshot taken now.
// At READ COMMITTED a row a concurrent transaction is changing is waited for,
// then its latest version is taken (or none, if it was deleted); at
// REPEATABLE READ and SERIALIZABLE such a row raises 40001. For a handful of
// rows per trigger call this costs a fraction of a query (no plan, no
// executor state). Only finish() ends it: on an error the transaction's
// abort cleans up.
class RowReader {
  public:
    RowReader();
    // A test of a row: test(slot, arg) runs inside the boundary, so it may
    // only read the slot (into *arg) and raise nothing.
    struct Test {
        bool (*test)(TupleTableSlot* slot, void* arg);
        void* arg;
    };
    // The first row of `table` in `index` whose leading int8 key columns
    // equal `keys` and that passes `accept` (on the locked version), locked
    // in `mode`; false if there is none. The row stays readable until the
    // next read or finish().
    bool lock(Relation table, Oid index, std::initializer_list<int64> keys, LockTupleMode mode,
              Test accept = {});
    // The row version at `position` in `table`, if this snapshot sees it
    // (no lock taken: for rows this transaction has locked already).
    bool fetch(Relation table, ItemPointerData position);
    // Every row of `table` in `index` whose leading int8 key columns equal
    // `keys`, as a snapshot taken now sees them (what others committed, and
    // all this transaction wrote), unlocked: `visit` on each, in index
    // order, until it returns false.
    void scan_latest(Relation table, Oid index, std::initializer_list<int64> keys, Test visit);
    // `accept` on the row read last.
    bool check(Test accept);
    ItemPointerData position() const { return last_->tts_tid; }  // of the row read last
    std::optional<int64> int_at(int attnum);
    std::vector<double> float8s_at(int attnum);  // an array without nulls
    void finish();

  private:
    TupleTableSlot* slot_for(Relation table);
    std::vector<std::pair<Relation, TupleTableSlot*>> slots_;  // one per table
    TupleTableSlot* last_ = nullptr;
};

// Rows of a table of schema family through an index, as the calling query
// sees them (its snapshot), without SPI, the planner or locks: for STABLE
// functions, whose walks must not depend on what the planner thinks of the
// table (a plan made before the table was analyzed can scan it whole for
// every step). The caller needs SELECT on the table, as a query would; a
// table under row-level security is refused (its policies would not apply).
// Only finish() ends it: on an error the transaction's abort cleans up.
class Scanner {
  public:
    explicit Scanner(const char* table);
    Oid index(const char* name) const;
    Oid primary_key() const;
    // `visit` on every row whose leading int8 key columns equal `keys`, in
    // index order, until it returns false.
    void scan(Oid index, std::initializer_list<int64> keys, RowReader::Test visit);
    Relation table() const { return table_; }
    void finish();

  private:
    Relation table_ = nullptr;
    TupleTableSlot* slot_ = nullptr;
};

// A table or index of ours, by name in the schema `ns`; an error naming it
// if it is missing (dropped or renamed by hand).
Oid relation_named(const char* name, Oid ns);

// The attribute number of a column of a table of ours; an error naming it
// if the table has no such column (it was renamed or dropped).
int column(Relation table, const char* name);

// Runs f() with a memory context of its own as the current one, deleted when
// f returns: what f allocates there (the arguments of a large statement)
// goes with it. If f throws, the transaction is aborting, and PostgreSQL
// frees the context.
template <typename F>
void in_scratch_context(F&& f) {
    MemoryContext caller = CurrentMemoryContext;
    MemoryContext scratch = call([] {
        return AllocSetContextCreate(CurrentMemoryContext, "family scratch", ALLOCSET_DEFAULT_SIZES);
    });
    MemoryContextSwitchTo(scratch);
    try {
        f();
    } catch (...) {
        MemoryContextSwitchTo(caller);
        throw;
    }
    MemoryContextSwitchTo(caller);
    call(MemoryContextDelete, scratch);
}

// Results of the last Statement::run. Reading a column cannot raise.
std::optional<int64> col_int64(uint64 row, int col);
std::optional<double> col_float8(uint64 row, int col);
std::string col_text(uint64 row, int col);  // "" for null
RankVector col_ranks(uint64 row, int sums_col, int counts_col);
// A person's links from columns 1 to 5: id, father_id, mother_id,
// father_rank, mother_rank.
Links col_links(uint64 row);

// Datum conversions that allocate in the current memory context.
Datum int64_array(const std::vector<int64>& values);
Datum float8_array(const std::vector<double>& values);
Datum int32_array(const std::vector<int32>& values);
Datum nullable_int64_array(const std::vector<std::optional<int64>>& values);
Datum text_array(const std::vector<std::string>& values);
Datum text_datum(const std::string& value);

// A timestamp as the server shows it (DateStyle, TimeZone).
std::string timestamp_text(TimestampTz t);

// The current database's name.
std::string database_name();

// Tells listeners, at commit, that these persons' public values changed (a
// NOTIFY on channel family_person, one per id; PostgreSQL folds repeats within
// a transaction; past 1000 persons, "*" for all). The web service drops its
// cached copies of them.
void notify_changed(const std::vector<int64>& persons);

// The attribute numbers of family.person's columns.
struct PersonColumns {
    int id, father_id, mother_id, father_rank, mother_rank, generation, rank, sums, counts,
        updated_at;
    explicit PersonColumns(Relation d);
};

// The columns of family.person, looked up once (every row of every write
// needs them) and again after any change to the table's definition
// (forget_columns, a relcache callback). A reference valid until then.
const PersonColumns& columns_of(Relation table);
void forget_columns(Datum, Oid table);

// Derived values for one set-wise write; persons' vectors are slices
// [lo, hi] of two shared arrays.
class DerivedBatch {
  public:
    void add(const Links& links, const Derived& d);
    std::size_t size() const { return ids_.size(); }
    // Writes the values that differ from the stored ones, for rows whose
    // links are still those given (else the row changed concurrently and is
    // left alone). Row by row, as logical replication applies a change: each
    // row found through the primary key and written with its constraints,
    // indexes and row triggers, but no statement triggers: no transition
    // tables to fill and read back for rows whose links did not change. Our
    // BEFORE trigger is not called (it would let the row through): unless a
    // user's BEFORE trigger is there, a row is not locked before its write
    // (one WAL record, not two), and a concurrent change of it is followed
    // as an UPDATE follows it. Returns the ids of the rows written.
    std::vector<int64> write();

  private:
    static void write_rows(const DerivedBatch* batch, Relation table, const PersonColumns* c,
                           std::vector<int64>* written);
    std::vector<int64> ids_;
    std::vector<std::optional<int64>> fathers_, mothers_, father_ranks_, mother_ranks_;
    std::vector<int32> generations_, lo_, hi_;
    std::vector<std::optional<double>> ranks_;
    std::vector<double> sums_, counts_;
};

// Each module's part of _PG_init (module.cpp).
// The person trigger keeps, per transaction, where the parents and couples
// it locked are: registers what forgets them when a subtransaction aborts.
void person_triggers_init();
// The consistency check's settings (family.check_workers, family.smtp_url...).
void check_init();
// family.kinship's setting (family.kinship_cache_size, family.kinship_rent_ms).
void kinship_init();

// The extension's own writes of derived values (a DerivedBatch): the person
// triggers let them through without recomputing or propagating them. While
// a batch writes with row triggers (a user's BEFORE UPDATE trigger is there;
// else it does not call ours), pass_internal_write(id) is true once for each
// of its rows (its own write of it, which leaves the links as they were);
// internal_write_of(id) says whether the row is one of the batch's. Any
// other write meanwhile (a user's trigger fired by the batch, writing any
// row, the batch's own included) is checked as usual.
bool pass_internal_write(int64 id);

// Writes this transaction into family.link_change (once), before it
// commits, when it has changed any person's parents or generation, or
// deleted persons: family.kinship's copies of the parents then know they
// may be stale.
void note_link_change();
bool internal_write_of(int64 id);

// Raises a domain error (SQLSTATE from a five-character code).
[[noreturn]] void fail(const char* sqlstate, const std::string& message,
                       const std::string& detail = {});

}  // namespace family::pg
