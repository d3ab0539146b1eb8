-- The four worked examples of SPEC section 3, by the trigger path and from scratch.
TRUNCATE family.person, family.relationship RESTART IDENTITY;
CREATE FUNCTION pg_temp.couple(f_rank int, m_rank int, f bigint DEFAULT NULL, m bigint DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    father bigint := coalesce(f, family.add_person('f', ''));
    mother bigint := coalesce(m, family.add_person('m', ''));
BEGIN
    IF family.partner_of(father) IS NULL THEN
        PERFORM family.start_relationship(father, mother);
    END IF;
    RETURN family.add_child(father, mother, f_rank, m_rank);
END $$;

-- 1. r(u,f)=4, r(u,m)=2, no grandparents: A = 3.
SELECT pg_temp.couple(4, 2) AS u1 \gset
SELECT ancestor_relationship_rank, family.compute_ancestor_rank(:u1) FROM family.person WHERE id = :u1;

-- 2. f's parents ranks 5 and 5; m has no parents: A = 3.666...
SELECT pg_temp.couple(5, 5) AS f2 \gset
SELECT family.add_person('m', '') AS m2 \gset
SELECT family.start_relationship(:f2, :m2) IS NOT NULL;
SELECT family.add_child(:f2, :m2, 4, 2) AS u2 \gset
SELECT ancestor_relationship_rank, family.compute_ancestor_rank(:u2),
       abs(ancestor_relationship_rank - 11.0 / 3) < 1e-12 AS matches
  FROM family.person WHERE id = :u2;

-- 3. Only f known, r(u,f)=1; f's father known, r(f,ff)=5: A = 2.333...
SELECT family.add_person('ff', '') AS ff3 \gset
INSERT INTO family.person (father_id, father_rank) VALUES (:ff3, 5) RETURNING id AS f3 \gset
INSERT INTO family.person (father_id, father_rank) VALUES (:f3, 1) RETURNING id AS u3 \gset
SELECT ancestor_relationship_rank, family.compute_ancestor_rank(:u3),
       abs(ancestor_relationship_rank - 7.0 / 3) < 1e-12 AS matches
  FROM family.person WHERE id = :u3;

-- 4. avg_0 = 3; f's ranks 5 and 3, m's ranks 1 and 1: avg_1 = 2.5; all 8
--    great-grandparent links rank 4: avg_2 = 4. A = 3.0.
SELECT pg_temp.couple(4, 4) AS ff4, pg_temp.couple(4, 4) AS fm4,
       pg_temp.couple(4, 4) AS mf4, pg_temp.couple(4, 4) AS mm4 \gset
SELECT pg_temp.couple(5, 3, :ff4, :fm4) AS f4, pg_temp.couple(1, 1, :mf4, :mm4) AS m4 \gset
SELECT pg_temp.couple(4, 2, :f4, :m4) AS u4 \gset
SELECT ancestor_relationship_rank, family.compute_ancestor_rank(:u4), link_rank_sums, link_counts
  FROM family.person WHERE id = :u4;

-- Editing a great-grandparent link moves u4 (propagation through two generations).
UPDATE family.person SET father_rank = 1 WHERE id = :ff4;
SELECT ancestor_relationship_rank = family.compute_ancestor_rank(:u4) AS consistent,
       ancestor_relationship_rank FROM family.person WHERE id = :u4;

-- Pedigree collapse: a shared ancestor counts once per line (path semantics).
SELECT family.add_person('gp', '') AS gp, family.add_person('gm', '') AS gm \gset
SELECT family.start_relationship(:gp, :gm) IS NOT NULL;
SELECT family.add_child(:gp, :gm, 5, 5) AS sib1, family.add_child(:gp, :gm, 1, 1) AS sib2 \gset
SELECT pg_temp.couple(3, 3, :sib1, NULL) AS cousin1, pg_temp.couple(3, 3, :sib2, NULL) AS cousin2 \gset
SELECT pg_temp.couple(2, 4, :cousin1, :cousin2) AS inbred \gset
SELECT generation, link_counts, link_rank_sums, ancestor_relationship_rank,
       ancestor_relationship_rank = family.compute_ancestor_rank(:inbred) AS consistent
  FROM family.person WHERE id = :inbred;

SELECT count(*) AS wrong_ranks FROM family.person
 WHERE ancestor_relationship_rank IS DISTINCT FROM family.compute_ancestor_rank(id);
SELECT family.repair() AS repaired;
