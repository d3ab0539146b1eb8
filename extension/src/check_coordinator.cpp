// The coordinator of a consistency check run (SPEC section 6): records the
// run, starts the check workers and waits for them, records what they found
// (and who is on a cycle) and mails the report, then earlier runs' reports
// whose mail did not go. On SIGTERM (its caller was cancelled, the server is
// shutting down) it stops the workers, records the run failed, and mails
// with a short time limit, so that a fast shutdown is not held up.
#include "check_shared.hpp"

extern "C" {
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/wait_event.h"
}

#include "check.hpp"
#include "mail.hpp"

namespace family::pg::consistency {

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

// One pass of the coordinator's wait (all PostgreSQL calls: run inside
// call()): terminates the workers first if asked, then whether any still
// runs; if so, sleeps until a worker's state changes or a signal comes (1 s
// at most).
bool poll_workers(BackgroundWorkerHandle* const* handles, std::size_t n, bool terminate) {
    if (terminate)
        for (std::size_t i = 0; i < n; ++i) TerminateBackgroundWorker(handles[i]);
    bool running = false;
    for (std::size_t i = 0; i < n; ++i) {
        pid_t pid = 0;
        running |= GetBackgroundWorkerPid(handles[i], &pid) != BGWH_STOPPED;
    }
    if (running) {
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000L,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
    return running;
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
        call(
            [](const char* where) {
                ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                                errmsg("family.check_inject: error injected in the coordinator's %s",
                                       where)));
            },
            where);
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
        sh_->slice = check::slice_size(sh_->last_id - sh_->first_id + 1, sh_->requested);
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
            bool terminate = got_sigterm && !terminated;
            bool running = call(poll_workers, static_cast<BackgroundWorkerHandle* const*>(handles_.data()),
                                handles_.size(), terminate);
            terminated |= terminate;
            if (!running) break;
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
            if (w.state == kFailed) {
                r.errors.push_back(error_report(where, w.error));
                r.errors.back().worker = static_cast<int>(i);
            }
            // 57P01, as pg_terminate_backend() says: the usual way to get here.
            if (w.state == kRunning || w.state == kNotStarted) {
                r.errors.push_back(
                    {where, "57P01",
                     "the worker ended without finishing: it was"
                     " terminated, or it exited on a fatal error (see the server log)",
                     "", "", "", ""});
                r.errors.back().worker = static_cast<int>(i);
            }
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
                add_error.run({run, Int32GetDatum(e.worker.value_or(-1)), text_datum(e.sqlstate),
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
            r.status = check::run_status(r);
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
                // Asked to stop (a fast shutdown waits for this process):
                // 5 s more at most, then the mail waits for the next run.
                error = mail::send(settings, m.subject, m.body, {&got_sigterm});
                status = error ? "failed" : "sent";
            }
            // A signal that came before this point does not cancel the
            // record of what was sent; one that comes during it does (the
            // mail then stays due, and goes again with the next run).
            if (got_sigterm) QueryCancelPending = false;
            transaction("family consistency check: mail status", Isolation::ReadCommitted, [&] {
                record.run(
                    {Int64GetDatum(m.id), text_datum(status), text_datum(error.value_or(""))});
            });
            // The server is unreachable, or this process is asked to stop:
            // the rest waits for the next run.
            if ((error && !settings.url.empty()) || got_sigterm) break;
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

}  // namespace family::pg::consistency

using namespace family::pg;
using namespace family::pg::consistency;

extern "C" {
PGDLLEXPORT void family_check_coordinator(Datum arg);

void family_check_coordinator(Datum arg) {
    run_process(arg, on_sigterm,
                [](Shared* sh, Datum arg) { Coordinator(sh, DatumGetUInt32(arg)).run(); });
}
}
