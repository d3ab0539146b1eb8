// What the consistency check's processes share (SPEC section 6): the dynamic
// shared memory segment's layout, the settings the caller hands over, and
// the helpers every background process of the check uses (its transactions,
// its connection, capturing an error into the segment). See
// check_function.cpp for the caller, check_coordinator.cpp and
// check_worker.cpp for the other two kinds of process.
#pragma once

#include "pg.hpp"

extern "C" {
#include "mb/pg_wchar.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
}

#include <algorithm>
#include <cstring>
#include <string>

namespace family::pg {

// Not an anonymous namespace: these names show in the reports' stack traces.
namespace consistency {

// Test hook (family.check_inject): makes worker 0 fail on its first slice
// (error, exception), or the coordinator while it records the run
// (coordinator) or its mail (mail).
enum Inject { kInjectNone, kInjectError, kInjectException, kInjectCoordinator, kInjectMail };

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


std::size_t shared_size(int workers);

// An error context callback that records the stack at each ereport() in this
// process, while the raising frames are still there.
void capture_stack(void*);

// What is being handled, into a slot. Called only from a catch handler.
void record_exception(ErrorSlot& slot);

enum class Isolation { ReadCommitted, RepeatableRead };

// A transaction of a background worker; on an error, the caller aborts it.
template <typename F>
void transaction(const char* activity, Isolation isolation, F&& body) {
    call(
        [](const char* activity, Isolation isolation) {
            SetCurrentStatementStartTimestamp();
            StartTransactionCommand();
            // Before the first snapshot: then every statement reads that one.
            if (isolation == Isolation::RepeatableRead) XactIsoLevel = XACT_REPEATABLE_READ;
            PushActiveSnapshot(GetTransactionSnapshot());
            pgstat_report_activity(STATE_RUNNING, activity);
        },
        activity, isolation);
    Spi spi;
    body();
    spi.finish();
    call([] {
        PopActiveSnapshot();
        CommitTransactionCommand();
        pgstat_report_activity(STATE_IDLE, nullptr);
    });
}

void abort_transaction();

// The segment the caller made; attached for the life of the process.
Shared* attach(Datum arg);

// Connects to the caller's database as its user.
void connect(const Shared* sh);

// Starts a background process of the check running `function` (an extern
// "C" name in this library) with the segment; its number goes in bgw_extra.
// Null if no slot is free.
BackgroundWorkerHandle* launch(const char* function, const char* type, dsm_handle segment,
                               int number);

// The process's number, as launch() gave it.
int worker_number();

// The body of a process launch() started: SIGTERM to `on_sigterm`, then
// attaches to the segment, connects, and runs `body`, capturing the stack of
// every PostgreSQL error it raises (capture_stack). An error that escapes
// `body` goes to the server log, and the process exits.
void run_process(Datum arg, pqsigfunc on_sigterm, void (*body)(Shared* sh, Datum arg));

}  // namespace consistency
}  // namespace family::pg
