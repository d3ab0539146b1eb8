#include "check_shared.hpp"

#include <cxxabi.h>

#include <cstdlib>

#include "trace.hpp"

namespace family::pg::consistency {

std::size_t shared_size(int workers) {
    return offsetof(Shared, workers) + sizeof(WorkerSlot) * workers;
}

namespace {
// The stack at the last ereport() in this process.
trace::Stack pg_error_stack;
}  // namespace

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

void abort_transaction() {
    call([] {
        AbortCurrentTransaction();
        pgstat_report_activity(STATE_IDLE, nullptr);
    });
}

Shared* attach(Datum arg) {
    dsm_segment* segment = call(dsm_attach, DatumGetUInt32(arg));
    // The caller keeps the segment until the coordinator stops, and the
    // coordinator until its workers stop.
    if (!segment)
        fail("55000", "family: the consistency check's shared memory is gone");  // LCOV_EXCL_LINE
    return static_cast<Shared*>(dsm_segment_address(segment));
}

void connect(const Shared* sh) {
    call(
        [](const Shared* sh) {
            BackgroundWorkerInitializeConnectionByOid(sh->database, sh->login_user, 0);
            SetUserIdAndSecContext(sh->user, sh->security_context);
            // What a run records survives a crash of the server's processes
            // whatever the server's default: a run is never lost half-way.
            SetConfigOption("synchronous_commit", "on", PGC_USERSET, PGC_S_OVERRIDE);
        },
        sh);
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
    bool ok = call(RegisterDynamicBackgroundWorker, &w, &handle);
    return ok ? handle : nullptr;
}

void run_process(Datum arg, pqsigfunc on_sigterm, void (*body)(Shared*, Datum)) {
    pqsignal(SIGTERM, on_sigterm);
    BackgroundWorkerUnblockSignals();
    ErrorData* error = nullptr;
    ErrorContextCallback callback{error_context_stack, capture_stack, nullptr};
    try {
        Shared* sh = attach(arg);
        connect(sh);
        error_context_stack = &callback;
        body(sh, arg);
    } catch (...) {
        error = capture_exception();
    }
    error_context_stack = callback.previous;
    if (error) ReThrowError(error);
}

int worker_number() {
    int number = 0;
    std::memcpy(&number, MyBgworkerEntry->bgw_extra, sizeof number);
    return number;
}

}  // namespace family::pg::consistency
