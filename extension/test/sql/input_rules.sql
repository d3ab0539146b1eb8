-- What a client may not write (0.4.0): ids, and names that are not text to
-- show. Both on every path a client has: INSERT, UPDATE, the SQL API.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
CREATE FUNCTION pg_temp.fails(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Ids are the database's: an INSERT that names one fails (428C9), so no
-- client can take the ids the sequence hands out next.
SELECT pg_temp.fails($$INSERT INTO family.person (id, first_name) VALUES (65, 'x'), (66, 'x')$$);
SELECT family.add_person('A', 'One') AS a, family.add_person('B', 'Two') AS b \gset
SELECT pg_temp.fails(format('INSERT INTO family.relationship (id, person_a, person_b) VALUES (9, %s, %s)', :a, :b));
SELECT pg_temp.fails(format('UPDATE family.person SET id = 77 WHERE id = %s', :a));
-- The next persons get the next ids, whatever was tried.
SELECT family.add_person('C', 'Three') - :b AS next_after_b;
-- The owner may still say so explicitly, and COPY (pg_dump's restores, bulk
-- loads) takes the ids it is given.
INSERT INTO family.person (id, first_name) OVERRIDING SYSTEM VALUE VALUES (1000, 'Restored');
COPY family.person (id, first_name, last_name) FROM stdin;
1001	Copied	Row
\.
SELECT id, first_name FROM family.person WHERE id >= 1000 ORDER BY id;

-- Names hold no control character (C0, DEL, C1), no line or paragraph
-- separator, no bidirectional embedding, override or isolate (23514).
SELECT c AS code_point,
       pg_temp.fails(format('INSERT INTO family.person (first_name) VALUES (%L)', 'a' || chr(c) || 'b')) AS first_name,
       pg_temp.fails(format('UPDATE family.person SET last_name = %L WHERE id = %s', chr(c), :a)) AS last_name
  FROM unnest(ARRAY[1, 9, 10, 31, 127, 133, 155, 159, 8232, 8233, 8234, 8238, 8294, 8297]) AS c;
SELECT pg_temp.fails(format('SELECT family.add_person(%L, %L)', 'Eve', 'x' || chr(8238)));
SELECT family.start_relationship(:a, :b) IS NOT NULL AS couple;
SELECT pg_temp.fails(format('SELECT family.add_child(%s, %s, 3, 3, %L)', :a, :b, chr(133)));
-- Their neighbours are fine: space, tilde, no-break space, the characters
-- around the separators and the bidi controls, letters of every script.
SELECT count(*) AS accepted
  FROM unnest(ARRAY[32, 126, 160, 8231, 8239, 8293, 8298, 233, 20013, 128512]) AS c,
       LATERAL (SELECT pg_temp.fails(format('INSERT INTO family.person (first_name) VALUES (%L)',
                                            'a' || chr(c) || 'b')) AS r) f
 WHERE f.r = 'no error';
-- At most 200 characters (not bytes) each.
SELECT pg_temp.fails(format('INSERT INTO family.person (first_name) VALUES (%L)', repeat('é', 201)));
SELECT pg_temp.fails(format('UPDATE family.person SET last_name = %L WHERE id = %s', repeat('x', 201), :a));
SELECT family.add_person(repeat('é', 200), repeat('x', 200)) AS long \gset
SELECT char_length(first_name), char_length(last_name) FROM family.person WHERE id = :long;

-- family.printable() is the rule, for clients that want to check first.
SELECT family.printable('Zoë'), family.printable(E'a\u202Eb'), family.printable(NULL);
