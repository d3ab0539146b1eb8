-- The status service's role (SPEC section 8): it reads the consistency
-- checks' runs and pg_cron's record of the job that runs them, and nothing
-- else. Applied by `make run` and by the tests, as a superuser, after
-- CREATE EXTENSION family and sql/app.sql; running it again changes nothing.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'family_status') THEN
        CREATE ROLE family_status LOGIN;
    END IF;
END $$;

-- The last run's outcome and counts; not the findings themselves, nor the
-- report (which names persons).
GRANT USAGE ON SCHEMA family TO family_status;
GRANT SELECT (id, started_at, finished_at, persons_checked, findings, status, error)
    ON family.check_run TO family_status;

-- pg_cron's tables have row security: a role sees only the jobs it
-- scheduled itself (username = current_user), and the job is the
-- superuser's (make run schedules it). A grant on cron.job would show
-- family_status no row, so the one thing it needs comes from a SECURITY
-- DEFINER function in a schema of its own, owned by the superuser that
-- applies this file. Schema cron need not exist yet: the function looks at
-- run time (pg_cron installed later is seen without re-running this file).
CREATE SCHEMA IF NOT EXISTS status;
REVOKE ALL ON SCHEMA status FROM PUBLIC;
GRANT USAGE ON SCHEMA status TO family_status;

-- The job family.schedule_consistency_check() registers, in this database,
-- and its last finished run (status 'succeeded' or 'failed'; a run in
-- progress does not count). Always one row: pg_cron false when pg_cron is
-- not installed here, job_id null when there is no such job, run_status
-- null when it has not run yet.
CREATE OR REPLACE FUNCTION status.cron_last_run()
    RETURNS TABLE (pg_cron boolean, job_id bigint, active boolean, schedule text,
                   run_status text, return_message text, start_time timestamptz,
                   end_time timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
#variable_conflict use_column
BEGIN
    IF to_regnamespace('cron') IS NULL THEN
        RETURN QUERY SELECT false, NULL::bigint, NULL::boolean, NULL::text, NULL::text,
                            NULL::text, NULL::timestamptz, NULL::timestamptz;
        RETURN;
    END IF;
    -- jobname is unique per user: prefer an active job, then the newest.
    RETURN QUERY
        SELECT true, j.jobid, j.active, j.schedule, d.status, d.return_message,
               d.start_time, d.end_time
          FROM (SELECT 1) AS one
          LEFT JOIN LATERAL (SELECT jobid, active, schedule FROM cron.job
                              WHERE jobname = 'family consistency check'
                                AND database = current_database()
                              ORDER BY active DESC, jobid DESC LIMIT 1) AS j ON true
          LEFT JOIN LATERAL (SELECT status, return_message, start_time, end_time
                               FROM cron.job_run_details
                              WHERE jobid = j.jobid AND status IN ('succeeded', 'failed')
                              ORDER BY runid DESC LIMIT 1) AS d ON true;
END $$;
REVOKE ALL ON FUNCTION status.cron_last_run() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION status.cron_last_run() TO family_status;
