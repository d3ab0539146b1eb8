"""The runner the service suites share (tests/web, tests/status): tests
chosen by name on the command line, one line each, the logs of the services
involved under a failure, the main service stopped cleanly at the end, and
the last line "LABEL: N passed, M failed".

A suite hands run() its tests (functions test_NAME(ctx)), a context with
`svc` (the service under test: alive(), stop(), tail(), log(), name,
log_path) and `services` (those a test started, killed after it), a setup
and a final check of the stopped service.
"""
import os
import sys
import time
import traceback


def _where(e, suite_file):
    frames = traceback.extract_tb(e.__traceback__)
    where = ([f for f in frames if f.filename == suite_file] or frames)[-1]
    return f"    at {os.path.basename(where.filename)}:{where.lineno}: {where.line}"


def run(label, tests, ctx, setup, suite_file, stopped_name="exit", after_stop=None,
        cleanup=None):
    """Runs the selected tests; exits the process with 0 or 1 (2: unknown names)."""
    names = {n.removeprefix("test_") for n in sys.argv[1:]}
    known = {t.__name__[5:] for t in tests}
    if names - known:
        print(f"unknown tests: {sorted(names - known)}; tests: {' '.join(sorted(known))}")
        sys.exit(2)
    passed = failed = 0
    try:
        setup(ctx)
    except Exception as e:  # noqa: BLE001 - reported, then the suite ends
        print(f"FAIL setup: {e}\n{traceback.format_exc()}", flush=True)
        if ctx.svc:
            print(ctx.svc.tail())
            ctx.svc.proc.kill()
        print(f"{label}: 0 passed, 1 failed")
        sys.exit(1)
    for test in [t for t in tests if not names or t.__name__[5:] in names]:
        name = test.__name__[5:]
        t = time.perf_counter()
        try:
            if not ctx.svc.alive():
                raise AssertionError(f"the service is gone (exit code {ctx.svc.proc.returncode})")
            test(ctx)
            passed += 1
            print(f"ok {name} ({time.perf_counter() - t:.1f} s)", flush=True)
        except Exception as e:  # noqa: BLE001 - counted and reported
            failed += 1
            lines = str(e).splitlines() or [type(e).__name__]
            print(f"FAIL {name}: {lines[0]}", flush=True)
            for line in lines[1:]:
                print(f"    {line}")
            print(_where(e, suite_file))
            if not isinstance(e, AssertionError):
                print("".join("    " + line for line in traceback.format_exception(e)))
            for svc in [ctx.svc] + ctx.services:
                print(f"    -- {svc.name} log ({svc.log_path}), last lines:\n{svc.tail(20)}",
                      end="", flush=True)
        finally:
            for svc in ctx.services:
                if svc.alive():
                    svc.proc.kill()
                    svc.proc.wait()
            ctx.services.clear()
    # The service must stop cleanly: exit 0 (coverage data is written at exit).
    try:
        ctx.svc.stop()
        if after_stop:
            after_stop(ctx)
        passed += 1
        print(f"ok {stopped_name}", flush=True)
    except Exception as e:  # noqa: BLE001 - counted and reported
        failed += 1
        print(f"FAIL {stopped_name}: {e}\n{ctx.svc.tail(20)}", flush=True)
    if cleanup:
        cleanup(ctx, failed)
    print(f"{label}: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
