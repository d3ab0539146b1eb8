// The parallel consistency check (SPEC section 6). Three kinds of process:
//  - the caller of family.run_consistency_check() starts a coordinator and
//    waits for it; the run is the coordinator's, so it is recorded whatever
//    becomes of the caller's transaction;
//  - the coordinator records the run, starts the check workers, waits for
//    them, records what they found and mails the report;
//  - each check worker takes slices of persons (by id) from a shared counter
//    and checks each person against its parents' stored values, one
//    transaction per slice.
// They share one dynamic shared memory segment (Shared). Errors are captured
// with their stack where they are raised, copied into the segment, and end
// up in family.check_error and in the mail.
#include "pg.hpp"

extern "C" {
#include "commands/dbcommands.h"
#include "mb/pg_wchar.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/postmaster.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/wait_event.h"
}

#include <cxxabi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>
#include <stdexcept>
#include <string>

#include "check.hpp"
#include "mail.hpp"
#include "trace.hpp"

namespace family::pg {

// Not an anonymous namespace: these names show in the reports' stack traces.
namespace consistency {

// GUCs (SPEC section 5).
int check_workers = 0;
char* smtp_url = nullptr;
char* mail_from = nullptr;
char* mail_to = nullptr;
// Test hook: makes worker 0 fail on its first slice (error, exception), or
// the coordinator while it records the run (coordinator) or its mail (mail).
enum Inject { kInjectNone, kInjectError, kInjectException, kInjectCoordinator, kInjectMail };
int check_inject = kInjectNone;
const config_enum_entry inject_options[] = {
    {"none", kInjectNone, false},           {"error", kInjectError, false},
    {"exception", kInjectException, false}, {"coordinator", kInjectCoordinator, false},
    {"mail", kInjectMail, false},           {nullptr, 0, false}};

template <std::size_t N>
void copy(char (&to)[N], const std::string& from) {
    // Never half a multibyte character.
    std::size_t n = static_cast<std::size_t>(
        pg_mbcliplen(from.data(), static_cast<int>(std::min(from.size(), N * 2)), N - 1));
    std::memcpy(to, from.data(), n);
    to[n] = '\0';
}

struct ErrorSlot {
    bool set;
    char sqlstate[6];
    char type[128];
    char message[2048];
    char detail[2048];
    char context[4096];
    char stack[8192];
};

enum WorkerState { kNotStarted, kRunning, kDone, kFailed };

struct WorkerSlot {
    int pid;
    int state;
    TimestampTz started, finished;
    int64 persons, relationships, slices, findings;
    ErrorSlot error;
};

struct Shared {
    // Set by the caller: workers log in as its login user and then act as
    // its current user (like parallel query's workers: a NOLOGIN role
    // reached by SET ROLE works too).
    Oid database, login_user, user;
    int security_context;
    int requested;
    int inject;
    char smtp_url[1024], mail_from[512], mail_to[1024];
    char note[512];
    // Set by the coordinator.
    bool recorded;  // the run row is committed
    int64 run_id;
    // Slices of `slice` person ids from first_id to last_id.
    int64 first_id, last_id, slice;
    pg_atomic_uint64 next_slice;
    char status[16];
    int64 findings;
    ErrorSlot error;  // the coordinator's own
    WorkerSlot workers[FLEXIBLE_ARRAY_MEMBER];
};

std::size_t shared_size(int workers) {
    return offsetof(Shared, workers) + sizeof(WorkerSlot) * workers;
}

// The stack at the last ereport() in this process, captured by an error
// context callback while the raising frames are still there.
trace::Stack pg_error_stack;
void capture_stack(void*) {
    pg_error_stack = trace::capture();
}

// What is being handled, into a slot. Called only from a catch handler.
void record_exception(ErrorSlot& slot) {
    std::string sqlstate = "XX000", type, message, detail, context, stack;
    try {
        throw;
    } catch (const PgError& e) {
        const ErrorData* d = e.edata();
        sqlstate = unpack_sql_state(d->sqlerrcode);
        type = "PostgreSQL ERROR (ereport)";
        message = d->message ? d->message : "";
        detail = d->detail ? d->detail : "";
        context = d->context ? d->context : "";
        // Frame 0 is capture_stack(), called by errfinish().
        stack = trace::symbolize(pg_error_stack, 1);
    } catch (const std::exception& e) {
        int status = 0;
        char* name = abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status);
        type = std::string("C++ ") + (name ? name : typeid(e).name());
        std::free(name);
        message = e.what();
        const trace::Stack* at = trace::thrown(&e);
        // Frame 0 is the __cxa_throw wrapper, called by the throw site.
        stack = at ? trace::symbolize(*at, 1)
                   : "(thrown inside a library; stack where it was caught)\n" +
                         trace::symbolize(trace::capture());
    }
    slot.set = true;
    copy(slot.sqlstate, sqlstate);
    copy(slot.type, type);
    copy(slot.message, message);
    copy(slot.detail, detail);
    copy(slot.context, context);
    copy(slot.stack, stack);
}

enum class Isolation { ReadCommitted, RepeatableRead };

// A transaction of a background worker; on an error, the caller aborts it.
template <typename F>
void transaction(const char* activity, Isolation isolation, F&& body) {
    guard([&] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        // Before the first snapshot: then every statement reads that one.
        if (isolation == Isolation::RepeatableRead) XactIsoLevel = XACT_REPEATABLE_READ;
        PushActiveSnapshot(GetTransactionSnapshot());
        pgstat_report_activity(STATE_RUNNING, activity);
    });
    Spi spi;
    body();
    spi.finish();
    guard([&] {
        PopActiveSnapshot();
        CommitTransactionCommand();
        pgstat_report_activity(STATE_IDLE, nullptr);
    });
}

void abort_transaction() {
    guard([] {
        AbortCurrentTransaction();
        pgstat_report_activity(STATE_IDLE, nullptr);
    });
}

Shared* attach(Datum arg) {
    dsm_segment* segment = nullptr;
    guard([&] { segment = dsm_attach(DatumGetUInt32(arg)); });
    // The caller keeps the segment until the coordinator stops, and the
    // coordinator until its workers stop.
    if (!segment)
        fail("55000", "family: the consistency check's shared memory is gone");  // LCOV_EXCL_LINE
    return static_cast<Shared*>(dsm_segment_address(segment));
}

void connect(const Shared* sh) {
    guard([&] {
        BackgroundWorkerInitializeConnectionByOid(sh->database, sh->login_user, 0);
        SetUserIdAndSecContext(sh->user, sh->security_context);
        // What a run records survives a crash of the server's processes
        // whatever the server's default: a run is never lost half-way.
        SetConfigOption("synchronous_commit", "on", PGC_USERSET, PGC_S_OVERRIDE);
    });
}

BackgroundWorkerHandle* launch(const char* function, const char* type, dsm_handle segment,
                               int number) {
    BackgroundWorker w;
    std::memset(&w, 0, sizeof w);
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = BGW_NEVER_RESTART;
    std::snprintf(w.bgw_library_name, BGW_MAXLEN, "family");
    std::snprintf(w.bgw_function_name, BGW_MAXLEN, "%s", function);
    std::snprintf(w.bgw_name, BGW_MAXLEN, "%s %d", type, number);
    std::snprintf(w.bgw_type, BGW_MAXLEN, "%s", type);
    w.bgw_main_arg = UInt32GetDatum(segment);
    std::memcpy(w.bgw_extra, &number, sizeof number);
    w.bgw_notify_pid = MyProcPid;
    BackgroundWorkerHandle* handle = nullptr;
    bool ok = false;
    guard([&] { ok = RegisterDynamicBackgroundWorker(&w, &handle); });
    return ok ? handle : nullptr;
}

// ---- the check worker -----------------------------------------------------

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
                couple_ids.emplace_back(std::min(*p.father, *p.mother),
                                        std::max(*p.father, *p.mother));
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
            p.couple = !(p.father && p.mother) || known.count({std::min(*p.father, *p.mother),
                                                               std::max(*p.father, *p.mother)});
            check::check_person(p, findings);
        }
        if ((sh->inject == kInjectError || sh->inject == kInjectException) && number == 0 &&
            me.slices == 0) {
            if (sh->inject == kInjectError)
                guard([] {
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

// ---- the coordinator -------------------------------------------------------

// SIGTERM (the caller was cancelled, or the server is shutting down): a
// statement the coordinator is running is cancelled, and the wait for the
// workers ends with terminating them; then the run is recorded as failed.
volatile sig_atomic_t got_sigterm = false;
void on_sigterm(SIGNAL_ARGS) {
    (void)postgres_signal_arg;
    int saved = errno;
    got_sigterm = true;
    QueryCancelPending = true;
    InterruptPending = true;
    SetLatch(MyLatch);
    errno = saved;
}

double since(TimestampTz start, TimestampTz t) {
    return t ? static_cast<double>(t - start) / 1e6 : 0;
}

// Runs whose coordinator is gone (the server restarted or crashed meanwhile)
// are marked failed; their mail follows. A coordinator holds an advisory lock
// on its run for its whole life: a run whose lock is free has none.
void sweep_lost_runs() {
    static Statement sweep(
        "UPDATE family.check_run r SET status = 'failed', finished_at = clock_timestamp(),"
        "       error = format('the run''s coordinator (pid %s) is gone: the server crashed or"
        " restarted during the run', r.coordinator_pid)"
        " WHERE status = 'running'"
        "   AND pg_try_advisory_xact_lock(1179469145, (r.id & 2147483647)::int4)"
        " RETURNING r.id, r.started_at::text, r.finished_at::text, r.error,"
        "           extract(epoch FROM r.finished_at - r.started_at)::float8, r.workers_requested",
        {});
    static Statement keep("UPDATE family.check_run SET report = $2 WHERE id = $1",
                          {INT8OID, TEXTOID});
    std::vector<std::pair<int64, std::string>> reports;
    uint64 n = sweep.run({});
    for (uint64 i = 0; i < n; ++i) {
        check::RunReport r;
        r.run_id = *col_int64(i, 1);
        r.database = database_name();
        r.status = "failed";
        r.started_at = col_text(i, 2);
        r.finished_at = col_text(i, 3);
        r.seconds = col_float8(i, 5).value_or(0);
        r.workers_requested = static_cast<int>(col_int64(i, 6).value_or(0));
        r.errors.push_back({"coordinator", "XX000", col_text(i, 4), "", "", "",
                            "(not captured: the process died)"});
        reports.emplace_back(r.run_id, check::report_body(r));
    }
    for (const auto& [id, body] : reports) keep.run({Int64GetDatum(id), text_datum(body)});
}

class Coordinator {
  public:
    explicit Coordinator(Shared* sh, dsm_handle segment) : sh_(sh), segment_(segment) {}

    void run() {
        start_ = GetCurrentTimestamp();
        try {
            begin();
        } catch (...) {
            // Not even recorded: the caller reports the error.
            record_exception(sh_->error);
            abort_transaction();
            return;
        }
        launch_workers();
        wait_for_workers();
        try {
            finish();
        } catch (...) {
            record_exception(sh_->error);
            abort_transaction();
            fail_run();
        }
        // The run is recorded: if the mail's bookkeeping fails, the error
        // goes to the server log and the next run sends the mail.
        mail();
    }

    static void inject(const char* where) {
        guard([&] {
            ereport(ERROR,
                    (errcode(ERRCODE_INTERNAL_ERROR),
                     errmsg("family.check_inject: error injected in the coordinator's %s", where)));
        });
    }

  private:
    void begin() {
        static Statement insert(
            "INSERT INTO family.check_run (workers, workers_requested, coordinator_pid,"
            "                              coordinator_started_at)"
            " VALUES (0, $1, $2, $3) RETURNING id",
            {INT4OID, INT4OID, TIMESTAMPTZOID});
        static Statement lock("SELECT pg_advisory_lock(1179469145, ($1 & 2147483647)::int4)",
                              {INT8OID});
        // No person at all: still one slice (1 to 1), for the relationships.
        static Statement bounds(
            "SELECT coalesce(min(id), 1), coalesce(max(id), 1) FROM family.person", {});
        transaction("family consistency check: starting", Isolation::ReadCommitted, [&] {
            sweep_lost_runs();
            insert.run({Int32GetDatum(sh_->requested), Int32GetDatum(MyProcPid),
                        TimestampTzGetDatum(MyStartTimestamp)});
            sh_->run_id = *col_int64(0, 1);
            // Session-level: held until this process exits, however it exits.
            lock.run({Int64GetDatum(sh_->run_id)});
            bounds.run({});
            sh_->first_id = *col_int64(0, 1);
            sh_->last_id = *col_int64(0, 2);
        });
        sh_->recorded = true;
        // About 16 slices per worker, so that a faster worker takes more;
        // not so small that per-slice costs show, nor so large that a slice's
        // rows weigh on memory.
        int64 span = sh_->last_id - sh_->first_id + 1;
        sh_->slice = std::clamp<int64>(span / (sh_->requested * 16), 1000, 10000);
        pg_atomic_init_u64(&sh_->next_slice, 0);
    }

    void launch_workers() {
        for (int i = 0; i < sh_->requested; ++i) {
            BackgroundWorkerHandle* h =
                launch("family_check_worker", "family check worker", segment_, i);
            if (!h) break;
            handles_.push_back(h);
        }
        int started = static_cast<int>(handles_.size());
        if (started < sh_->requested) {
            std::string note = "only " + std::to_string(started) + " of " +
                               std::to_string(sh_->requested) +
                               " check workers could start: no free background worker slot"
                               " (max_worker_processes = " +
                               std::to_string(max_worker_processes) + ")";
            copy(sh_->note, sh_->note[0] ? std::string(sh_->note) + "; " + note : note);
        }
        if (started == 0) {
            ErrorSlot& e = sh_->error;
            e.set = true;
            copy(e.sqlstate, "53400");
            copy(e.message, "no check worker could start: no free background worker slot");
            copy(e.detail, "max_worker_processes = " + std::to_string(max_worker_processes));
        }
    }

    void wait_for_workers() {
        bool terminated = false;
        for (;;) {
            bool running = false;
            for (BackgroundWorkerHandle* h : handles_) {
                pid_t pid = 0;
                running |= GetBackgroundWorkerPid(h, &pid) != BGWH_STOPPED;
            }
            if (!running) break;
            if (got_sigterm && !terminated) {
                for (BackgroundWorkerHandle* h : handles_) TerminateBackgroundWorker(h);
                terminated = true;
            }
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000L,
                            PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
        }
        if (got_sigterm) {
            // Recording the run is still to come: not cancelled.
            QueryCancelPending = false;
            cancelled_ = true;
        }
        finished_ = GetCurrentTimestamp();
    }

    // Workers, errors, cycles and the report, into the tables.
    void finish() {
        static Statement add_worker(
            "INSERT INTO family.check_worker (run_id, worker, pid, started_at, finished_at,"
            "                                 persons_checked, slices, findings, status)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            {INT8OID, INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, INT8OID, INT8OID,
             TEXTOID});
        static Statement add_error(
            "INSERT INTO family.check_error (run_id, worker, sqlstate, message, detail, context,"
            "                                exception_type, stack_trace)"
            " VALUES ($1, nullif($2, -1), $3, $4, $5, $6, $7, $8)",
            {INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID});
        // Who is on a cycle, among the persons whose generation is wrong (at
        // least one on each cycle is): each walks up once.
        static Statement cycles(
            "INSERT INTO family.check_finding (run_id, person_id, kind, expected, actual)"
            " SELECT $1, g.person_id, 'cycle', 'not their own ancestor',"
            "        'their own ancestor'"
            "   FROM (SELECT person_id FROM family.check_finding"
            "          WHERE run_id = $1 AND kind = 'generation' ORDER BY person_id LIMIT 1000) g"
            "  WHERE g.person_id IN ("
            "        WITH RECURSIVE up(id) AS ("
            "             SELECT unnest(ARRAY[p.father_id, p.mother_id]) FROM family.person p"
            "              WHERE p.id = g.person_id"
            "             UNION"
            "             SELECT unnest(ARRAY[p.father_id, p.mother_id])"
            "               FROM up JOIN family.person p ON p.id = up.id)"
            "        SELECT id FROM up)",
            {INT8OID});
        static Statement first_findings(
            "SELECT person_id, kind, expected, actual, count(*) OVER ()"
            "  FROM family.check_finding WHERE run_id = $1"
            " ORDER BY person_id, kind LIMIT $2",
            {INT8OID, INT4OID});
        static Statement close(
            "UPDATE family.check_run SET finished_at = $2, workers = $3, persons_checked = $4,"
            "       findings = $5, status = $6, error = nullif($7, ''), report = $8,"
            "       relationships_checked = $9"
            " WHERE id = $1 RETURNING started_at::text, finished_at::text",
            {INT8OID, TIMESTAMPTZOID, INT4OID, INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
             INT8OID});

        check::RunReport r;
        r.run_id = sh_->run_id;
        r.workers_requested = sh_->requested;
        r.note = sh_->note;
        r.seconds = since(start_, finished_);
        if (cancelled_)
            r.errors.push_back({"coordinator", "57014",
                                "the run was cancelled: its caller was cancelled, or the server"
                                " is shutting down",
                                "", "", "", ""});
        if (sh_->error.set) r.errors.push_back(error_report("coordinator", sh_->error));
        for (std::size_t i = 0; i < handles_.size(); ++i) {
            WorkerSlot& w = sh_->workers[i];
            const char* status = w.state == kDone ? "done" : w.state == kFailed ? "failed" : "lost";
            std::string where =
                "worker " + std::to_string(i) + " (pid " + std::to_string(w.pid) + ")";
            if (w.state == kFailed) r.errors.push_back(error_report(where, w.error));
            // 57P01, as pg_terminate_backend() says: the usual way to get here.
            if (w.state == kRunning || w.state == kNotStarted)
                r.errors.push_back(
                    {where, "57P01",
                     "the worker ended without finishing: it was"
                     " terminated, or it exited on a fatal error (see the server log)",
                     "", "", "", ""});
            r.workers.push_back({static_cast<int>(i), w.pid, since(start_, w.started),
                                 since(start_, w.finished), w.persons, w.slices, w.findings,
                                 status});
            r.persons += w.persons;
            r.relationships += w.relationships;
        }

        transaction("family consistency check: recording", Isolation::ReadCommitted, [&] {
            if (sh_->inject == kInjectCoordinator) inject("record");
            r.database = database_name();
            Datum run = Int64GetDatum(sh_->run_id);
            for (std::size_t i = 0; i < r.workers.size(); ++i) {
                const check::WorkerReport& w = r.workers[i];
                const WorkerSlot& slot = sh_->workers[i];
                add_worker.run({run, Int32GetDatum(w.number), Int32GetDatum(w.pid),
                                TimestampTzGetDatum(slot.started ? slot.started : start_),
                                TimestampTzGetDatum(slot.finished ? slot.finished : finished_),
                                Int64GetDatum(w.persons), Int64GetDatum(w.slices),
                                Int64GetDatum(w.findings), text_datum(w.status)});
            }
            for (const check::ErrorReport& e : r.errors) {
                int worker = e.where.rfind("worker ", 0) == 0 ? std::atoi(e.where.c_str() + 7) : -1;
                add_error.run({run, Int32GetDatum(worker), text_datum(e.sqlstate),
                               text_datum(e.message), text_datum(e.detail), text_datum(e.context),
                               text_datum(e.exception_type), text_datum(e.stack_trace)});
            }
            cycles.run({run});
            uint64 n =
                first_findings.run({run, Int32GetDatum(static_cast<int>(check::kMailedFindings))});
            for (uint64 i = 0; i < n; ++i) {
                r.findings.push_back(
                    {*col_int64(i, 1), col_text(i, 2), col_text(i, 3), col_text(i, 4)});
                r.findings_total = *col_int64(i, 5);
            }
            r.status = !r.errors.empty() ? "failed" : r.findings_total ? "findings" : "clean";
            std::string error =
                r.errors.empty() ? "" : r.errors[0].where + ": " + r.errors[0].message;
            r.started_at = timestamp_text(start_);
            r.finished_at = timestamp_text(finished_);
            close.run({run, TimestampTzGetDatum(finished_),
                       Int32GetDatum(static_cast<int>(r.workers.size())), Int64GetDatum(r.persons),
                       Int64GetDatum(r.findings_total), text_datum(r.status), text_datum(error),
                       text_datum(check::report_body(r)), Int64GetDatum(r.relationships)});
        });
        copy(sh_->status, r.status);
        sh_->findings = r.findings_total;
        if (!r.errors.empty())
            copy(sh_->error.message, r.errors[0].where + ": " + r.errors[0].message);
    }

    // Recording the run failed: mark it failed, with that error, in a
    // transaction of its own.
    void fail_run() {
        static Statement failed(
            "UPDATE family.check_run SET status = 'failed', finished_at = clock_timestamp(),"
            "       error = $2, report = $3 WHERE id = $1",
            {INT8OID, TEXTOID, TEXTOID});
        check::RunReport r;
        r.run_id = sh_->run_id;
        r.status = "failed";
        r.errors.push_back(error_report("coordinator", sh_->error));
        copy(sh_->status, "failed");
        try {
            transaction(
                "family consistency check: recording the failure", Isolation::ReadCommitted, [&] {
                    r.database = database_name();
                    failed.run({Int64GetDatum(sh_->run_id),
                                text_datum(std::string("coordinator: ") + sh_->error.message),
                                text_datum(check::report_body(r))});
                });
        } catch (...) {  // LCOV_EXCL_START: the database refuses two writes in a row
            abort_transaction();
        }  // LCOV_EXCL_STOP
    }

    // This run's report, then those of earlier runs whose mail did not go.
    void mail() {
        static Statement pending(
            "SELECT r.id, r.status, r.findings, r.report,"
            "       (SELECT count(*) FROM family.check_error e WHERE e.run_id = r.id)"
            "  FROM family.check_run r"
            " WHERE r.mail_status IN ('pending', 'failed') AND r.status <> 'running'"
            "   AND r.mail_attempts < 10"
            "   AND r.report IS NOT NULL"
            " ORDER BY r.id = $1 DESC, r.id LIMIT 10",
            {INT8OID});
        static Statement record(
            "UPDATE family.check_run SET mail_status = $2, mail_error = nullif($3, ''),"
            "       mail_attempts = mail_attempts + 1 WHERE id = $1",
            {INT8OID, TEXTOID, TEXTOID});
        mail::Settings settings{sh_->smtp_url, sh_->mail_from, sh_->mail_to};
        struct Mail {
            int64 id;
            std::string subject, body;
        };
        std::vector<Mail> mails;
        transaction("family consistency check: mail", Isolation::ReadCommitted, [&] {
            if (sh_->inject == kInjectMail) inject("mail");
            uint64 n = pending.run({Int64GetDatum(sh_->run_id)});
            std::string database = database_name();
            for (uint64 i = 0; i < n; ++i) {
                check::RunReport r;
                r.run_id = *col_int64(i, 1);
                r.database = database;
                r.status = col_text(i, 2);
                r.findings_total = *col_int64(i, 3);
                r.errors.resize(static_cast<std::size_t>(*col_int64(i, 5)));
                mails.push_back({r.run_id, check::report_subject(r), col_text(i, 4)});
            }
        });
        for (const Mail& m : mails) {
            std::optional<std::string> error;
            const char* status = "off";
            if (settings.url.empty())
                error = "family.smtp_url is not set: no mail is sent";
            else {
                error = mail::send(settings, m.subject, m.body);
                status = error ? "failed" : "sent";
            }
            transaction("family consistency check: mail status", Isolation::ReadCommitted, [&] {
                record.run(
                    {Int64GetDatum(m.id), text_datum(status), text_datum(error.value_or(""))});
            });
            // The server is unreachable: the rest waits for the next run.
            if (error && !settings.url.empty()) break;
        }
    }

    static check::ErrorReport error_report(const std::string& where, const ErrorSlot& e) {
        return {where, e.sqlstate, e.message, e.detail, e.context, e.type, e.stack};
    }

    Shared* sh_;
    dsm_handle segment_;
    TimestampTz start_ = 0, finished_ = 0;
    std::vector<BackgroundWorkerHandle*> handles_;
    bool cancelled_ = false;
};

// ---- the caller ------------------------------------------------------------

int64 run_consistency_check(std::optional<int> workers) {
    // The run's processes could wait on locks this transaction holds, where
    // the deadlock detector cannot see it.
    if (IsTransactionBlock())
        fail("25001", "family.run_consistency_check() cannot run inside a transaction block");
    int requested = workers.value_or(check_workers);
    if (requested < 0)
        fail("22023", "workers must be 0 (one per CPU) or more, not " + std::to_string(requested));
    std::string note;
    if (requested == 0) requested = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    // One slot is the coordinator's.
    int cap = std::max(1, max_worker_processes - 1);
    if (requested > cap) {
        note = std::to_string(requested) + " workers requested, capped to " + std::to_string(cap) +
               " by max_worker_processes = " + std::to_string(max_worker_processes) +
               " (one is the coordinator's)";
        requested = cap;
    }
    dsm_segment* segment = nullptr;
    Shared* sh = nullptr;
    guard([&] {
        segment = dsm_create(shared_size(requested), 0);
        sh = static_cast<Shared*>(dsm_segment_address(segment));
        std::memset(sh, 0, shared_size(requested));
    });
    sh->database = MyDatabaseId;
    sh->login_user = GetAuthenticatedUserId();
    GetUserIdAndSecContext(&sh->user, &sh->security_context);
    sh->requested = requested;
    sh->inject = check_inject;
    copy(sh->smtp_url, smtp_url ? smtp_url : "");
    copy(sh->mail_from, mail_from ? mail_from : "");
    copy(sh->mail_to, mail_to ? mail_to : "");
    copy(sh->note, note);
    BackgroundWorkerHandle* coordinator = launch(
        "family_check_coordinator", "family check coordinator", dsm_segment_handle(segment), 0);
    if (!coordinator)
        fail("53400", "no free background worker slot for the consistency check's coordinator",
             "max_worker_processes = " + std::to_string(max_worker_processes) +
                 "; raise it, or wait for running workers to end.");
    try {
        guard([&] { (void)WaitForBackgroundWorkerShutdown(coordinator); });
    } catch (...) {
        // Cancelled meanwhile: the run stops too (and is recorded failed).
        guard([&] { TerminateBackgroundWorker(coordinator); });
        throw;
    }
    if (sh->note[0]) guard([&] { ereport(WARNING, (errmsg("family: %s", sh->note))); });
    if (!sh->recorded)
        fail(sh->error.sqlstate[0] ? sh->error.sqlstate : "XX000",
             std::string("consistency check could not start: ") +
                 (sh->error.set ? sh->error.message
                                : "its coordinator exited (see the server log)"));
    std::string status = sh->status;
    int64 run = sh->run_id;
    if (status == "findings")
        guard([&] {
            ereport(WARNING,
                    (errmsg_plural("family: consistency check run %ld found %ld inconsistency",
                                   "family: consistency check run %ld found %ld inconsistencies",
                                   static_cast<unsigned long>(sh->findings), static_cast<long>(run),
                                   static_cast<long>(sh->findings)),
                     errhint("See family.check_finding; SELECT family.repair() recomputes "
                             "derived values.")));
        });
    if (status != "clean" && status != "findings")
        fail("XX000",
             "consistency check run " + std::to_string(run) + " failed: " + sh->error.message,
             "See family.check_run and family.check_error for run " + std::to_string(run) + ".");
    guard([&] { dsm_detach(segment); });
    return run;
}

}  // namespace consistency
}  // namespace family::pg

using namespace family::pg;
using namespace family::pg::consistency;

extern "C" {
PGDLLEXPORT void family_check_coordinator(Datum arg);
PGDLLEXPORT void family_check_worker(Datum arg);
void _PG_init(void);
PG_FUNCTION_INFO_V1(family_run_consistency_check);

void _PG_init(void) {
    DefineCustomIntVariable(
        "family.check_workers", "Workers of family.run_consistency_check(); 0 = one per CPU.",
        nullptr, &check_workers, 0, 0, MAX_BACKENDS, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("family.smtp_url",
                               "SMTP server for the consistency check's reports, e.g. "
                               "smtp://127.0.0.1:2525; empty = no mail.",
                               nullptr, &smtp_url, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("family.mail_from", "Sender of the consistency check's reports.",
                               nullptr, &mail_from, "family@localhost", PGC_SUSET, 0, nullptr,
                               nullptr, nullptr);
    DefineCustomStringVariable(
        "family.mail_to", "Recipients of the consistency check's reports, comma-separated.",
        nullptr, &mail_to, "postmaster@localhost", PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomEnumVariable("family.check_inject",
                             "Test hook: makes the first check worker fail (error, exception).",
                             nullptr, &check_inject, kInjectNone, inject_options, PGC_SUSET,
                             GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("family");
    person_triggers_init();
}

void family_check_coordinator(Datum arg) {
    pqsignal(SIGTERM, on_sigterm);
    BackgroundWorkerUnblockSignals();
    ErrorData* error = nullptr;
    ErrorContextCallback callback{error_context_stack, capture_stack, nullptr};
    try {
        Shared* sh = attach(arg);
        connect(sh);
        error_context_stack = &callback;
        Coordinator(sh, DatumGetUInt32(arg)).run();
    } catch (...) {
        error = capture_exception();
    }
    error_context_stack = callback.previous;
    // To the server log; the worker exits.
    if (error) ReThrowError(error);
}

void family_check_worker(Datum arg) {
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    int number = 0;
    std::memcpy(&number, MyBgworkerEntry->bgw_extra, sizeof number);
    ErrorData* error = nullptr;
    ErrorContextCallback callback{error_context_stack, capture_stack, nullptr};
    try {
        Shared* sh = attach(arg);
        connect(sh);
        error_context_stack = &callback;
        run_worker(sh, number);
    } catch (...) {  // LCOV_EXCL_START: attaching or connecting failed: the log says why
        error = capture_exception();
    }  // LCOV_EXCL_STOP
    error_context_stack = callback.previous;
    if (error) ReThrowError(error);  // LCOV_EXCL_LINE: as above
}

Datum family_run_consistency_check(PG_FUNCTION_ARGS) {
    return entry([&] {
        std::optional<int> workers;
        if (!PG_ARGISNULL(0)) workers = PG_GETARG_INT32(0);
        return Int64GetDatum(run_consistency_check(workers));
    });
}
}
