-- Local setup of database family, applied by `make run` / `make start`
-- (idempotent). psql variable smtp_url: where the check's reports go.
-- Later parts of the product add their schemas here.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS family;
ALTER EXTENSION family UPDATE;
-- The consistency check every 15 minutes, its report mailed to the local
-- SMTP sink (every session of this database, pg_cron's too, sees the setting).
LOAD 'family';
ALTER DATABASE family SET family.smtp_url = :'smtp_url';
ALTER DATABASE family SET family.mail_to = 'dba@localhost';
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT family.schedule_consistency_check() AS check_job \gset
