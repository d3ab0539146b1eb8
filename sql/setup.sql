-- Local setup of database family, applied by `make run` / `make start`
-- (idempotent). Later parts of the product add their schemas here.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS family;
ALTER EXTENSION family UPDATE;
