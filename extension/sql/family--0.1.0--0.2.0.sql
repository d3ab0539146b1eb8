-- family 0.2.0: the parallel consistency check (SPEC section 6).
\echo Use "ALTER EXTENSION family UPDATE" to load this file. \quit

-- One row per run of family.run_consistency_check(). status: running, then
-- clean, findings or failed; a run whose coordinator is gone (crash,
-- restart) is marked failed by the next run. mail_status: pending, then
-- sent, failed (retried by the next runs) or off (family.smtp_url unset).
CREATE TABLE family.check_run (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    workers integer NOT NULL,            -- workers that ran
    workers_requested integer NOT NULL,
    persons_checked bigint NOT NULL DEFAULT 0,
    findings bigint NOT NULL DEFAULT 0,
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'clean', 'findings', 'failed')),
    error text,                          -- the first error, "where: message"
    mail_status text NOT NULL DEFAULT 'pending'
        CHECK (mail_status IN ('pending', 'sent', 'failed', 'off')),
    mail_error text,
    mail_attempts integer NOT NULL DEFAULT 0,
    report text,                         -- the mail's body
    -- The coordinator, told apart from a later process with the same pid.
    coordinator_pid integer NOT NULL,
    coordinator_started_at timestamptz NOT NULL
);
CREATE INDEX check_run_unfinished ON family.check_run (id)
    WHERE status = 'running' OR mail_status IN ('pending', 'failed');

-- What each worker did; times show that they ran side by side.
CREATE TABLE family.check_worker (
    run_id bigint NOT NULL REFERENCES family.check_run ON DELETE CASCADE,
    worker integer NOT NULL,
    pid integer NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    persons_checked bigint NOT NULL,
    slices bigint NOT NULL,
    findings bigint NOT NULL,
    status text NOT NULL CHECK (status IN ('done', 'failed', 'lost')),
    PRIMARY KEY (run_id, worker)
);

-- Every error of a run: worker null = the coordinator.
CREATE TABLE family.check_error (
    run_id bigint NOT NULL REFERENCES family.check_run ON DELETE CASCADE,
    worker integer,
    sqlstate text NOT NULL,
    message text NOT NULL,
    detail text NOT NULL DEFAULT '',
    context text NOT NULL DEFAULT '',
    exception_type text NOT NULL DEFAULT '',
    stack_trace text NOT NULL DEFAULT ''
);
CREATE INDEX check_error_run ON family.check_error (run_id);

-- What is wrong with whom. kind: missing_father, missing_mother,
-- father_rank_pairing, mother_rank_pairing, couple, generation, link_vectors,
-- ancestor_rank, cycle. No foreign key to the
-- person: findings are history and outlive a deleted person.
CREATE TABLE family.check_finding (
    run_id bigint NOT NULL REFERENCES family.check_run ON DELETE CASCADE,
    person_id bigint NOT NULL,
    kind text NOT NULL,
    expected text NOT NULL,
    actual text NOT NULL,
    PRIMARY KEY (run_id, person_id, kind)
);

SELECT pg_catalog.pg_extension_config_dump('family.check_run', '');
SELECT pg_catalog.pg_extension_config_dump('family.check_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('family.check_worker', '');
SELECT pg_catalog.pg_extension_config_dump('family.check_error', '');
SELECT pg_catalog.pg_extension_config_dump('family.check_finding', '');

CREATE FUNCTION family.run_consistency_check(workers integer DEFAULT NULL) RETURNS bigint
    LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'family_run_consistency_check';

-- pg_cron lives in the database named by cron.database_name; the job is
-- found again by its name, so a second call updates it.
CREATE FUNCTION family.schedule_consistency_check(schedule text DEFAULT '*/15 * * * *')
    RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF to_regnamespace('cron') IS NULL THEN
        RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
            USING ERRCODE = '55000',
                  HINT = 'Preload pg_cron, set cron.database_name to this database, '
                         'then CREATE EXTENSION pg_cron.';
    END IF;
    RETURN cron.schedule('family consistency check', schedule,
                         'SELECT family.run_consistency_check()');
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA family FROM PUBLIC;
