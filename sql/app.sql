-- The web service's schema (SPEC section 7): accounts, tokens and partner
-- requests, and the role the service connects as. Applied by `make run` and
-- by the tests, as a superuser, after CREATE EXTENSION family; running it
-- again changes nothing.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS app;

-- Who can log in: a person of the family (person_id; the account goes with
-- the person), or nobody's (staff who run the service, e.g. the account that
-- `make run` creates, need not be in the family data).
CREATE TABLE IF NOT EXISTS app.account (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint UNIQUE REFERENCES family.person ON DELETE CASCADE,
    -- Compared lowercased: the service lowercases before it asks.
    email text NOT NULL UNIQUE
        CHECK (email = lower(email) AND length(email) <= 254 AND email ~ '^[^@\s]+@[^@\s]+$'),
    -- libsodium's crypto_pwhash_str (Argon2id, with its own salt and limits).
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    is_staff boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A bearer token is 32 random bytes; only its SHA-256 is stored, so a copy
-- of the table logs nobody in. Full-entropy secrets need no slow hash.
CREATE TABLE IF NOT EXISTS app.token (
    hash bytea PRIMARY KEY CHECK (length(hash) = 32),
    account_id bigint NOT NULL REFERENCES app.account ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- "I want to be in a relationship with partner_id": one open request per
-- person; the relationship starts when both have asked for each other. A
-- request is answered when a relationship of either person starts (trigger
-- below) and lapses after 30 days (the service ignores older ones).
-- The partner may be any person, with an account or not: the service
-- answers the same either way, so that nobody learns who holds an account.
CREATE TABLE IF NOT EXISTS app.partner_request (
    person_id bigint PRIMARY KEY REFERENCES app.account (person_id) ON DELETE CASCADE,
    partner_id bigint NOT NULL REFERENCES family.person ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (person_id <> partner_id)
);

-- Databases of earlier shapes: each account keeps its person, each token and
-- request its account.
DO $$
BEGIN
    -- A database made before the partner could be any person (first: its
    -- reference to the account's old key would go with that key below).
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'partner_request_partner_id_fkey'
                  AND conrelid = 'app.partner_request'::regclass
                  AND confrelid = 'app.account'::regclass) THEN
        ALTER TABLE app.partner_request DROP CONSTRAINT partner_request_partner_id_fkey,
            ADD CONSTRAINT partner_request_partner_id_fkey FOREIGN KEY (partner_id)
                REFERENCES family.person ON DELETE CASCADE;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'app.account'::regclass
                      AND attname = 'id' AND NOT attisdropped) THEN
        ALTER TABLE app.account ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
        ALTER TABLE app.token ADD COLUMN account_id bigint;
        UPDATE app.token AS t SET account_id = a.id FROM app.account AS a
         WHERE a.person_id = t.person_id;
        ALTER TABLE app.token DROP COLUMN person_id,  -- with its key and index
            ALTER COLUMN account_id SET NOT NULL;
        -- The old key goes with the request's reference to it.
        ALTER TABLE app.account DROP CONSTRAINT account_pkey CASCADE,
            ADD PRIMARY KEY (id), ALTER COLUMN person_id DROP NOT NULL,
            ADD UNIQUE (person_id);
        ALTER TABLE app.token ADD FOREIGN KEY (account_id) REFERENCES app.account ON DELETE CASCADE;
        ALTER TABLE app.partner_request ADD FOREIGN KEY (person_id)
            REFERENCES app.account (person_id) ON DELETE CASCADE;
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS token_account_id ON app.token (account_id);
CREATE INDEX IF NOT EXISTS token_expires_at ON app.token (expires_at);
CREATE INDEX IF NOT EXISTS partner_request_partner_id ON app.partner_request (partner_id);

-- The web service caches who a token belongs to: a token revoked, or an
-- account changed or deleted, by any path (psql included) tells it which
-- account's tokens to forget.
CREATE OR REPLACE FUNCTION app.notify_account() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM pg_notify('family_account', id::text) FROM (SELECT DISTINCT id FROM changed) AS c;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION app.notify_token() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM pg_notify('family_account', account_id::text)
       FROM (SELECT DISTINCT account_id FROM changed) AS c;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER account_changed AFTER UPDATE ON app.account
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION app.notify_account();
CREATE OR REPLACE TRIGGER account_deleted AFTER DELETE ON app.account
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION app.notify_account();
CREATE OR REPLACE TRIGGER token_changed AFTER UPDATE ON app.token
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION app.notify_token();
CREATE OR REPLACE TRIGGER token_deleted AFTER DELETE ON app.token
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION app.notify_token();
-- TRUNCATE has no rows to name: "*" says forget everyone.
CREATE OR REPLACE FUNCTION app.notify_account_truncate() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM pg_notify('family_account', '*');
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER account_truncated AFTER TRUNCATE ON app.account
    FOR EACH STATEMENT EXECUTE FUNCTION app.notify_account_truncate();
CREATE OR REPLACE TRIGGER token_truncated AFTER TRUNCATE ON app.token
    FOR EACH STATEMENT EXECUTE FUNCTION app.notify_account_truncate();

-- A relationship that starts, by any path, answers every open request of
-- both persons (made to or by either): an old request must not start a
-- relationship years later. SECURITY DEFINER: a SQL user who may start
-- relationships need not see app's tables.
CREATE OR REPLACE FUNCTION app.relationship_started() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    DELETE FROM app.partner_request AS q
     USING started AS r
     WHERE q.person_id IN (r.person_a, r.person_b) OR q.partner_id IN (r.person_a, r.person_b);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER partner_requests_answered AFTER INSERT ON family.relationship
    REFERENCING NEW TABLE AS started FOR EACH STATEMENT
    EXECUTE FUNCTION app.relationship_started();

-- Privacy of the living (SPEC 7): for a person without a death date, sex,
-- birth date and birth place are shown only to staff, to that person, their
-- current partner, their ancestors and their descendants.
--
-- Whether `viewer` is `person`, their partner, an ancestor or a descendant.
-- A line joins them only across their difference in generation (each step
-- down adds one at least), so the walk up from the younger one stops there.
CREATE OR REPLACE FUNCTION app.related(viewer bigint, person bigint) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
SELECT coalesce(viewer = person, false)
    OR EXISTS (SELECT 1 FROM family.relationship AS r
                WHERE r.ended_at IS NULL AND ((r.person_a = viewer AND r.person_b = person)
                                              OR (r.person_a = person AND r.person_b = viewer)))
    OR EXISTS (SELECT 1 FROM family.person AS v, family.person AS p
                WHERE v.id = viewer AND p.id = person AND (
                      (v.generation < p.generation AND EXISTS (
                          SELECT 1 FROM family.ancestors(p.id, p.generation - v.generation) AS a
                           WHERE a.person_id = v.id))
                   OR (p.generation < v.generation AND EXISTS (
                          SELECT 1 FROM family.ancestors(v.id, v.generation - p.generation) AS a
                           WHERE a.person_id = p.id))))
$$;

-- Persons as the API shows them to `viewer` (staff see everything), built
-- where the data is, all in one query (a page of 100 costs half of 100
-- single lookups): each id found, its JSON, and whether what is shown of it
-- depends on who asks (living, with a private field set).
CREATE OR REPLACE FUNCTION app.persons_json(ids bigint[], viewer bigint, staff boolean)
    RETURNS TABLE (id bigint, json text, private boolean)
    LANGUAGE sql STABLE
    AS $$
-- row_to_json: compact, the fields in the order of SPEC 7 (the service sends
-- it as it is). Every name is qualified: no search_path is set, so that the
-- planner can inline the function into its callers' queries.
SELECT p.id, pg_catalog.row_to_json(j)::text, h.private
  FROM family.person AS p
       CROSS JOIN LATERAL (
           SELECT p.death_date IS NULL AND (p.sex IS NOT NULL OR p.birth_date IS NOT NULL
                                            OR p.birth_place IS NOT NULL) AS private) AS h
       CROSS JOIN LATERAL (
           SELECT h.private AND NOT staff AND NOT app.related(viewer, p.id) AS hide) AS v
       CROSS JOIN LATERAL (
           SELECT p.id, p.first_name, p.last_name,
                  CASE WHEN v.hide THEN NULL ELSE p.sex END AS sex,
                  CASE WHEN v.hide THEN NULL ELSE p.birth_date END AS birth_date,
                  CASE WHEN v.hide THEN NULL ELSE p.birth_place END AS birth_place,
                  p.death_date, p.death_place, p.father_id, p.mother_id,
                  p.father_rank, p.mother_rank,
                  (SELECT CASE WHEN r.person_a = p.id THEN r.person_b ELSE r.person_a END
                     FROM family.relationship AS r
                    WHERE r.ended_at IS NULL AND p.id IN (r.person_a, r.person_b)) AS partner_id,
                  p.generation, p.ancestor_relationship_rank,
                  pg_catalog.to_char(p.created_at AT TIME ZONE 'UTC',
                                     'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
                  pg_catalog.to_char(p.updated_at AT TIME ZONE 'UTC',
                                     'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at) AS j
 WHERE p.id = ANY (ids)
$$;

-- A person's lines as a GEDCOM file (family.export_gedcom: ancestors and
-- descendants within `depth` generations, with their partners) as `viewer`
-- may see them: the sex and birth of the living are left out unless the
-- viewer is staff, that person, their partner, an ancestor or a descendant
-- (as app.persons_json shows them). At most `most` persons (NULL: any
-- number): past that, no file, and `persons` says how many it would hold.
-- No row for no such person.
DROP FUNCTION IF EXISTS app.gedcom_export(bigint, integer, bigint, boolean);
CREATE OR REPLACE FUNCTION app.gedcom_export(person bigint, depth integer, viewer bigint,
                                             staff boolean, most integer)
    RETURNS TABLE (file text, persons bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
WITH line AS (SELECT person AS id
              UNION SELECT a.person_id FROM family.ancestors(person, depth) AS a
              UNION SELECT d.person_id FROM family.descendants(person, depth) AS d),
     kept AS (SELECT id FROM line
              UNION SELECT r.person_b FROM line JOIN family.relationship AS r ON r.person_a = line.id
              UNION SELECT r.person_a FROM line JOIN family.relationship AS r ON r.person_b = line.id),
     n AS (SELECT count(*) AS persons FROM kept)
SELECT CASE WHEN most IS NULL OR n.persons <= most THEN family.export_gedcom(person, depth,
           CASE WHEN NOT staff THEN ARRAY(
               SELECT p.id FROM family.person AS p JOIN kept AS k ON k.id = p.id
                WHERE p.death_date IS NULL
                  AND (p.sex IS NOT NULL OR p.birth_date IS NOT NULL OR p.birth_place IS NOT NULL)
                  AND NOT app.related(viewer, p.id)) END) END,
       n.persons
  FROM n
 WHERE EXISTS (SELECT 1 FROM family.person AS p WHERE p.id = person)
$$;

-- A kinship term without the sex it tells (family.kinship's words for a
-- person whose sex the viewer may not see): "granddaughter" is
-- "grandchild", "half-brother" "half-sibling", "great-aunt"... "great-uncle
-- or great-aunt".
CREATE OR REPLACE FUNCTION app.neutral_term(term text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE
    WHEN term ~ ' or ' THEN term
    WHEN term ~ '(son|daughter)$' THEN regexp_replace(term, '(son|daughter)$', 'child')
    WHEN term ~ '(father|mother)$' THEN regexp_replace(term, '(father|mother)$', 'parent')
    WHEN term ~ '(brother|sister)$' THEN regexp_replace(term, '(brother|sister)$', 'sibling')
    WHEN term ~ '(nephew|niece)$' THEN regexp_replace(term, '^(.*)(nephew|niece)$', '\1nephew or \1niece')
    WHEN term ~ '(uncle|aunt)$' THEN regexp_replace(term, '^(.*)(uncle|aunt)$', '\1uncle or \1aunt')
    ELSE term END
$$;

-- One person as `viewer` sees them; NULL for no such person.
DROP FUNCTION IF EXISTS app.person_json(bigint);  -- before privacy: one argument
CREATE OR REPLACE FUNCTION app.person_json(person bigint, viewer bigint, staff boolean)
    RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT json FROM app.persons_json(ARRAY[person], viewer, staff) $$;

-- Lines page by page (SPEC 7a): ancestors or descendants in the order
-- (depth, id), each person once at their smallest depth. A person's depth
-- depends on every shallower one, so a page deep into a line cannot be
-- computed alone; a walk keeps the levels found so far (each level one sorted
-- array of ids), and a page extends it by the levels it needs, one at a time.
-- A cursor names its walk: the pages of a walk read one set of levels, so
-- rows added between pages neither repeat nor push others out. UNLOGGED: a
-- walk is a cache; after a crash (or an hour unused) it is gone and the page
-- asked for walks again from the start.
CREATE UNLOGGED TABLE IF NOT EXISTS app.line_walk (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL,
    up boolean NOT NULL,                 -- ancestors (true) or descendants
    depth_done integer NOT NULL DEFAULT 0,  -- levels 1..depth_done are stored
    complete boolean NOT NULL DEFAULT false,  -- and there is no deeper one
    used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS line_walk_used_at ON app.line_walk (used_at);
CREATE UNLOGGED TABLE IF NOT EXISTS app.line_level (
    walk_id bigint NOT NULL REFERENCES app.line_walk ON DELETE CASCADE,
    depth integer NOT NULL,
    ids bigint[] NOT NULL,  -- ascending
    -- ids[1] and ids[cardinality(ids)], readable without the array: a new
    -- level is checked only against the levels whose range meets its own.
    min_id bigint NOT NULL,
    max_id bigint NOT NULL,
    PRIMARY KEY (walk_id, depth)
);

-- One page of a line: at most `lim` persons after (after_depth, after_id),
-- deeper than 0 and at most max_depth (NULL: no limit), from the walk `walk`
-- when it is still kept and is of this line, else from a new one, as
-- `viewer` sees them. Returns the walk, the items (PERSON JSON with its
-- depth, comma-joined), their ids, the position of the last item when more
-- follow it (else NULLs), and whether another viewer could see the page
-- otherwise; all NULL when there is no such person.
CREATE OR REPLACE FUNCTION app.line_page(
        person bigint, up boolean, max_depth integer, walk bigint, after_depth integer,
        after_id bigint, lim integer, viewer bigint, staff boolean,
        OUT walk_id bigint, OUT items text, OUT ids text, OUT next_depth integer,
        OUT next_id bigint, OUT per_viewer boolean)
    LANGUAGE plpgsql
    -- Planned once per connection: a custom plan for each of a walk's
    -- statements costs more than running it (a first page of 10 levels:
    -- 4.3 ms with custom plans, 1.9 ms without; a whole walk no slower).
    SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
    AS $$
DECLARE
    w app.line_walk;
    d integer := greatest(after_depth, 1);
    after bigint := CASE WHEN after_depth >= 1 THEN after_id END;
    level bigint[];
    found_depths integer[] := '{}';
    found_ids bigint[] := '{}';
    frontier bigint[];
    stored integer;
    n integer;
    lo integer;
    hi integer;
    mid integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM family.person AS p WHERE p.id = person) THEN
        RETURN;  -- no such person: every result NULL
    END IF;
    SELECT * INTO w FROM app.line_walk AS x
     WHERE x.id = walk AND x.person_id = person AND x.up = line_page.up;
    IF w.id IS NULL THEN
        -- Forget the oldest walk unused for an hour (a bounded cost here).
        DELETE FROM app.line_walk
         WHERE id = (SELECT x.id FROM app.line_walk AS x
                      WHERE x.used_at < now() - interval '1 hour' ORDER BY x.used_at LIMIT 1);
        INSERT INTO app.line_walk (person_id, up) VALUES (person, up) RETURNING * INTO w;
        after := NULL;
        d := 1;
        IF after_depth IS NOT NULL THEN  -- the cursor's walk is gone: resume where it was
            d := greatest(after_depth, 1);
            after := after_id;
        END IF;
    ELSIF w.used_at < now() - interval '1 minute' THEN
        UPDATE app.line_walk SET used_at = now() WHERE id = w.id;
    END IF;
    -- One more than asked for: whether a next page exists.
    WHILE cardinality(found_ids) <= lim AND (max_depth IS NULL OR d <= max_depth) LOOP
        IF d > w.depth_done THEN
            EXIT WHEN w.complete;
            -- One extender per walk; another may have stored the levels meanwhile.
            SELECT * INTO w FROM app.line_walk WHERE id = w.id FOR UPDATE;
            IF d > w.depth_done AND NOT w.complete THEN
                frontier := CASE WHEN w.depth_done = 0 THEN ARRAY[person]
                                 ELSE (SELECT l.ids FROM app.line_level AS l
                                        WHERE l.walk_id = w.id AND l.depth = w.depth_done) END;
                -- Levels from d on, while this page needs persons (at most
                -- `stored` more than it still lacks), under one lock.
                stored := 0;
                LOOP
                    -- The next level: the parents (or children) of the last,
                    -- but for those an earlier level holds (or the person).
                    -- A new level is checked only against the stored levels
                    -- whose id range meets its own.
                    WITH next AS (
                        SELECT p.father_id AS id FROM family.person AS p
                         WHERE up AND p.id = ANY (frontier) AND p.father_id IS NOT NULL
                        UNION
                        SELECT p.mother_id FROM family.person AS p
                         WHERE up AND p.id = ANY (frontier) AND p.mother_id IS NOT NULL
                        UNION
                        SELECT p.id FROM family.person AS p
                         WHERE NOT up AND p.father_id = ANY (frontier)
                        UNION
                        SELECT p.id FROM family.person AS p
                         WHERE NOT up AND p.mother_id = ANY (frontier)),
                         span AS (SELECT min(id) AS lo, max(id) AS hi FROM next)
                    SELECT ARRAY(SELECT id FROM next
                                 EXCEPT
                                 SELECT unnest(l.ids) FROM app.line_level AS l, span
                                  WHERE l.walk_id = w.id AND l.max_id >= span.lo
                                    AND l.min_id <= span.hi
                                 EXCEPT
                                 SELECT person
                                 ORDER BY 1)
                      INTO level;
                    IF cardinality(level) = 0 THEN
                        w.complete := true;
                        EXIT;
                    END IF;
                    w.depth_done := w.depth_done + 1;
                    INSERT INTO app.line_level
                    VALUES (w.id, w.depth_done, level, level[1], level[cardinality(level)]);
                    IF w.depth_done > d OR (w.depth_done = d AND after IS NULL) THEN
                        stored := stored + cardinality(level);
                    ELSIF w.depth_done = d THEN  -- the page starts past `after`
                        stored := stored + (SELECT count(*) FROM unnest(level) AS x
                                             WHERE x > after);
                    END IF;
                    EXIT WHEN stored > lim - cardinality(found_ids)
                           OR w.depth_done >= max_depth;
                    frontier := level;
                END LOOP;
                UPDATE app.line_walk SET depth_done = w.depth_done, complete = w.complete
                 WHERE id = w.id;
            END IF;
            CONTINUE;
        END IF;
        n := lim + 1 - cardinality(found_ids);
        SELECT l.ids INTO level FROM app.line_level AS l WHERE l.walk_id = w.id AND l.depth = d;
        -- The level is ascending: the first id past `after` by bisection.
        lo := 1;
        hi := cardinality(level) + 1;
        WHILE after IS NOT NULL AND lo < hi LOOP
            mid := (lo + hi) / 2;
            IF level[mid] <= after THEN
                lo := mid + 1;
            ELSE
                hi := mid;
            END IF;
        END LOOP;
        level := level[lo:lo + n - 1];
        IF cardinality(level) > 0 THEN
            found_ids := found_ids || level;
            found_depths := found_depths || array_fill(d, ARRAY[cardinality(level)]);
        END IF;
        d := d + 1;
        after := NULL;
    END LOOP;
    walk_id := w.id;
    IF cardinality(found_ids) > lim THEN
        next_depth := found_depths[lim];
        next_id := found_ids[lim];
    END IF;
    -- A person deleted since the walk stored them is left out.
    SELECT string_agg(left(j.json, -1) || ',"depth":' || t.depth || '}', ',' ORDER BY t.ord),
           string_agg(t.id::text, ',' ORDER BY t.ord),
           coalesce(bool_or(j.private), false)
      INTO items, ids, per_viewer
      FROM unnest(found_ids[1:lim], found_depths[1:lim]) WITH ORDINALITY AS t(id, depth, ord)
      JOIN app.persons_json(found_ids[1:lim], viewer, staff) AS j ON j.id = t.id;
END $$;

-- Search by name (SPEC 7a): every word of the query prefixes a word of the
-- first or last name, case and accents ignored. A name's words are those of
-- PostgreSQL's text search parser ('simple': lower case, no stop words) over
-- the name without accents (unaccent); a GIN index finds them by prefix.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA app;
-- unaccent() is STABLE (its dictionary could change): this wrapper names the
-- dictionary and is IMMUTABLE, so that an index can use it.
CREATE OR REPLACE FUNCTION app.name_words(name text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN pg_catalog.to_tsvector('pg_catalog.simple'::regconfig,
                                  app.unaccent('app.unaccent'::regdictionary, name));
CREATE INDEX IF NOT EXISTS person_name_words ON family.person
    USING gin (app.name_words(first_name || ' ' || last_name));
-- No index in order of name: a page would walk it from A, through every
-- name before the first match (a surname's matches lie together), seconds
-- on a million persons. Through the words' index, a search costs what its
-- matches number (sorted top-N).

-- One page of the persons whose names match `q`: best matches first (tier
-- 1: every word of q is a whole word of the name; tier 2: the others), then
-- by last name, first name, id. At most `lim` after the position (tier,
-- last, first, id) (NULLs: from the start), as `viewer` sees them. Returns
-- the items (PERSON JSON, comma-joined), their ids, the position of the last
-- one when more follow, and whether another viewer could see the page
-- otherwise. NULL items: q has no word.
CREATE OR REPLACE FUNCTION app.search_page(
        q text, after_tier integer, after_last text, after_first text, after_id bigint,
        lim integer, viewer bigint, staff boolean,
        OUT items text, OUT ids text, OUT next_tier integer, OUT next_last text,
        OUT next_first text, OUT next_id bigint, OUT per_viewer boolean)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    words text[];
    exact tsquery;
    prefix tsquery;
    found bigint[] := '{}';
    tiers integer[] := '{}';
    lasts text[] := '{}';
    firsts text[] := '{}';
    t integer;
    r record;
BEGIN
    -- The query's words as the names' are made, each quoted as a tsquery
    -- lexeme: nothing in q is read as tsquery syntax.
    SELECT array_agg(DISTINCT '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || '''')
      INTO words
      FROM unnest(app.name_words(q));
    IF words IS NULL THEN
        RETURN;
    END IF;
    exact := array_to_string(words, ' & ')::tsquery;
    prefix := array_to_string(ARRAY(SELECT w || ':*' FROM unnest(words) AS w), ' & ')::tsquery;
    -- Tier 1: every word of q is a whole word of the name; tier 2: the other
    -- prefix matches. Those of tier 1 are left out of tier 2 by an anti-join
    -- on the index, not by computing each match's words again (a one-word
    -- query can match tens of thousands: 4x faster). Each tier's query
    -- runs alone (t is known when it is planned).
    FOR t IN coalesce(after_tier, 1)..2 LOOP
        FOR r IN
            SELECT m.* FROM (
                (SELECT p.id, p.last_name, p.first_name FROM family.person AS p
                  WHERE t = 1 AND app.name_words(p.first_name || ' ' || p.last_name) @@ exact
                    AND (after_tier IS NULL
                         OR (p.last_name, p.first_name, p.id) > (after_last, after_first, after_id))
                  ORDER BY p.last_name, p.first_name, p.id
                  LIMIT lim + 1 - cardinality(found))
                UNION ALL
                (SELECT p.id, p.last_name, p.first_name FROM family.person AS p
                  WHERE t = 2 AND app.name_words(p.first_name || ' ' || p.last_name) @@ prefix
                    AND NOT EXISTS (SELECT 1 FROM family.person AS w
                                     WHERE w.id = p.id AND app.name_words(
                                               w.first_name || ' ' || w.last_name) @@ exact)
                    AND (after_tier IS DISTINCT FROM 2
                         OR (p.last_name, p.first_name, p.id) > (after_last, after_first, after_id))
                  ORDER BY p.last_name, p.first_name, p.id
                  LIMIT lim + 1 - cardinality(found))) AS m
             ORDER BY m.last_name, m.first_name, m.id
        LOOP
            found := found || r.id;
            tiers := tiers || t;
            lasts := lasts || r.last_name;
            firsts := firsts || r.first_name;
        END LOOP;
        EXIT WHEN cardinality(found) > lim;
    END LOOP;
    IF cardinality(found) > lim THEN
        next_tier := tiers[lim];
        next_last := lasts[lim];
        next_first := firsts[lim];
        next_id := found[lim];
    END IF;
    SELECT coalesce(string_agg(j.json, ',' ORDER BY x.ord), ''),
           coalesce(string_agg(x.id::text, ',' ORDER BY x.ord), ''),
           coalesce(bool_or(j.private), false)
      INTO items, ids, per_viewer
      FROM unnest(found[1:lim]) WITH ORDINALITY AS x(id, ord)
      JOIN app.persons_json(found[1:lim], viewer, staff) AS j ON j.id = x.id;
END $$;

-- The service's role: no superuser, only what its queries need. Its password
-- (for TCP connections, e.g. in docker-compose) is set outside this file.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'family_web') THEN
        CREATE ROLE family_web LOGIN;
    END IF;
END $$;
-- A request must not wait long for a lock (a long transaction in psql, a
-- big family's rank change): past 4 s it gets 503 and retries, instead of
-- holding a connection while the pool drains (docs/load-test.md). 30 s is
-- nginx's proxy_read_timeout.
ALTER ROLE family_web SET lock_timeout = '4s';
ALTER ROLE family_web SET statement_timeout = '30s';
GRANT USAGE ON SCHEMA family, app TO family_web;
-- Persons change only through the extension's API (family.update_person,
-- family.delete_person: SECURITY DEFINER). A new person is an INSERT
-- (family.add_person, family.add_child), whose trigger locks the parents FOR
-- SHARE, and such a lock needs UPDATE on some column: updated_at, which the
-- trigger sets itself on every update, so the grant changes nothing else.
-- (A table's REVOKE takes its columns' grants too: first the revoke, for a
-- database set up before 0.5.0, then the grants.)
REVOKE UPDATE, DELETE ON family.person FROM family_web;
GRANT SELECT, INSERT, UPDATE (updated_at) ON family.person TO family_web;
GRANT SELECT, INSERT, UPDATE, DELETE ON family.relationship TO family_web;
GRANT EXECUTE ON FUNCTION family.add_person(text, text),
                          family.start_relationship(bigint, bigint, timestamptz),
                          family.end_relationship(bigint, timestamptz),
                          family.partner_of(bigint),
                          family.add_child(bigint, bigint, int, int, text, text),
                          family.update_person(bigint, jsonb, bigint),
                          family.delete_person(bigint),
                          family.ancestors(bigint, int),
                          family.descendants(bigint, int),
                          family.compute_ancestor_rank(bigint),
                          app.person_json(bigint, bigint, boolean),
                          app.persons_json(bigint[], bigint, boolean),
                          app.related(bigint, bigint),
                          family.kinship(bigint, bigint),
                          family.export_gedcom(bigint, integer, bigint[]),
                          family.import_gedcom(bytea, integer),
                          app.gedcom_export(bigint, integer, bigint, boolean, integer),
                          app.neutral_term(text),
                          app.line_page(bigint, boolean, integer, bigint, integer, bigint, integer,
                                        bigint, boolean),
                          app.search_page(text, integer, text, text, bigint, integer, bigint,
                                          boolean)
                          TO family_web;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.line_walk, app.line_level TO family_web;
GRANT SELECT ON family.gedcom_import, family.gedcom_issue TO family_web;  -- POST /api/imports
GRANT SELECT, INSERT ON app.account TO family_web;
GRANT UPDATE (password_hash) ON app.account TO family_web;  -- PUT /api/me/password
GRANT SELECT, INSERT, DELETE ON app.token TO family_web;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.partner_request TO family_web;
REVOKE ALL ON FUNCTION app.notify_account(), app.notify_token(), app.notify_account_truncate(),
                       app.relationship_started() FROM PUBLIC;
