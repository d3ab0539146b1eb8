-- Local setup of database family, applied by `make run` / `make start`
-- (idempotent). Later parts of the product add their schemas here.
CREATE EXTENSION IF NOT EXISTS family;
ALTER EXTENSION family UPDATE;
