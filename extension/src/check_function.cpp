// family.run_consistency_check() (SPEC section 6) and the check's settings.
// The caller starts a coordinator and waits for it; the run is the
// coordinator's, so it is recorded whatever becomes of the caller's
// transaction. The processes share one dynamic shared memory segment
// (check_shared.hpp); errors are captured with their stack where they are
// raised, copied into the segment, and end up in family.check_error and in
// the mail.
#include "check_shared.hpp"

extern "C" {
#include "postmaster/postmaster.h"
#include "utils/guc.h"
}

#include <unistd.h>

namespace family::pg {
namespace consistency {

namespace {
// GUCs (SPEC section 5).
int check_workers = 0;
char* smtp_url = nullptr;
char* mail_from = nullptr;
char* mail_to = nullptr;
int check_inject = kInjectNone;
const config_enum_entry inject_options[] = {
    {"none", kInjectNone, false},           {"error", kInjectError, false},
    {"exception", kInjectException, false}, {"coordinator", kInjectCoordinator, false},
    {"mail", kInjectMail, false},           {nullptr, 0, false}};
}  // namespace

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
    dsm_segment* segment = call(dsm_create, shared_size(requested), 0);
    Shared* sh = static_cast<Shared*>(dsm_segment_address(segment));
    std::memset(sh, 0, shared_size(requested));
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
        call(WaitForBackgroundWorkerShutdown, coordinator);
    } catch (...) {
        // Cancelled meanwhile: the run stops too (and is recorded failed).
        call(TerminateBackgroundWorker, coordinator);
        throw;
    }
    if (sh->note[0])
        call([](const char* note) { ereport(WARNING, (errmsg("family: %s", note))); },
             static_cast<const char*>(sh->note));
    if (!sh->recorded)
        fail(sh->error.sqlstate[0] ? sh->error.sqlstate : "XX000",
             std::string("consistency check could not start: ") +
                 (sh->error.set ? sh->error.message
                                : "its coordinator exited (see the server log)"));
    std::string status = sh->status;
    int64 run = sh->run_id;
    if (status == "findings")
        call(
            [](long run, long findings) {
                ereport(WARNING,
                        (errmsg_plural("family: consistency check run %ld found %ld inconsistency",
                                       "family: consistency check run %ld found %ld inconsistencies",
                                       static_cast<unsigned long>(findings), run, findings),
                         errhint("See family.check_finding; SELECT family.repair() recomputes "
                                 "derived values.")));
            },
            static_cast<long>(run), static_cast<long>(sh->findings));
    if (status != "clean" && status != "findings")
        fail("XX000",
             "consistency check run " + std::to_string(run) + " failed: " + sh->error.message,
             "See family.check_run and family.check_error for run " + std::to_string(run) + ".");
    call(dsm_detach, segment);
    return run;
}

}  // namespace consistency

void check_init() {
    using namespace consistency;
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
}

}  // namespace family::pg

using namespace family::pg;
using namespace family::pg::consistency;

extern "C" {
PG_FUNCTION_INFO_V1(family_run_consistency_check);

Datum family_run_consistency_check(PG_FUNCTION_ARGS) {
    return entry([&] {
        std::optional<int> workers;
        if (!PG_ARGISNULL(0)) workers = PG_GETARG_INT32(0);
        return Int64GetDatum(run_consistency_check(workers));
    });
}
}
