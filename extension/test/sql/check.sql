-- The consistency check from SQL; tests/check/check_test.py runs it end to
-- end (parallel workers, mail, pg_cron, failures).
SELECT family.add_person('Ann', 'A') AS ann, family.add_person('Bob', 'B') AS bob \gset
SELECT family.start_relationship(:ann, :bob) IS NOT NULL AS couple;
SELECT family.add_child(:bob, :ann, 4, 2, 'Cid') AS cid \gset
SELECT family.add_child(:bob, :ann, 5, 5, 'Dee') AS dee \gset

-- A clean run: every person checked, no mail without family.smtp_url.
SELECT family.run_consistency_check(1) AS run \gset
SELECT status, workers, workers_requested, persons_checked, findings, error,
       mail_status, mail_error
  FROM family.check_run WHERE id = :run;
SELECT worker, status, persons_checked, findings FROM family.check_worker WHERE run_id = :run;

-- Corrupt a derived value behind the triggers' back: reported with both
-- values, and a warning; repair() fixes it; the next run is clean.
SET session_replication_role = replica;
UPDATE family.person SET ancestor_relationship_rank = 1 WHERE id = :cid;
RESET session_replication_role;
SELECT family.run_consistency_check(2) AS run \gset
SELECT status, findings FROM family.check_run WHERE id = :run;
SELECT person_id = :cid AS cid, kind, expected, actual FROM family.check_finding WHERE run_id = :run;
SELECT family.repair();
SELECT family.run_consistency_check(2) AS run \gset
SELECT status FROM family.check_run WHERE id = :run;

-- Bad arguments and settings.
SELECT family.run_consistency_check(-1);
BEGIN;
SELECT family.run_consistency_check();
ROLLBACK;
SET family.check_workers = -1;
SET family.no_such_setting = 1;
SHOW family.check_workers;
SHOW family.mail_from;

-- pg_cron is not installed in this database.
SELECT family.schedule_consistency_check();

-- A role that may call it but not write the results: the run cannot start.
CREATE ROLE family_check_limited;
GRANT USAGE ON SCHEMA family TO family_check_limited;
GRANT EXECUTE ON FUNCTION family.run_consistency_check(int) TO family_check_limited;
SET ROLE family_check_limited;
SELECT family.run_consistency_check(1);
RESET ROLE;
DROP OWNED BY family_check_limited;
DROP ROLE family_check_limited;

-- Not for PUBLIC, nor the settings for non-superusers.
CREATE ROLE family_check_nobody;
SET ROLE family_check_nobody;
SELECT family.run_consistency_check();
SET family.smtp_url = 'smtp://example.org';
RESET ROLE;
DROP ROLE family_check_nobody;
