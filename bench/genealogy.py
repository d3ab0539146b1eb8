#!/usr/bin/python3
"""Deterministic generator of a realistic genealogy, as a psql script.

Cohorts of people over 35 generations: couples (with relationships), children
per couple drawn from a realistic distribution, in-laws marrying in from
outside (persons without known parents), remarriages (an ended relationship,
then a new one, so half-siblings), single-parent children, and cousin
marriages (pedigree collapse). The script loads it through the extension,
cohort by cohort: persons first, then the relationships they form.

Usage: genealogy.py PERSONS [SEED] > load.sql
"""
import random
import sys

COHORTS = 35
NULL = "\\N"
# Names as people have them (accents, hyphens, apostrophes): for search.
FIRST = ("Anne Anna Annette Ann Zoë Zoe José Josée Åsa Chloé Jean-Luc Jean Jeanne Marie "
         "Mary Maria María Márta Søren Björn Jörg Jürgen Françoise François Noël Léa Lea "
         "Luca Lucas Lucía Olivia Oliver Emma Emil Émile Hugo Ingrid Iñigo Ivan Ilse Kai "
         "Karl Carl Clara Klara Liam Linnéa Mía Mia Nils Noah Nora Otto Paul Paula Pål "
         "Renée René Rosa Sofía Sophie Sven Tomás Thomas Ulla Vera Wilhelm William Yusuf "
         "Zofia Žofie Ada Adèle Benoît Brigitte Dagny Eero Frida Greta Hélène Ines Inès").split()
STEMS = ("King Smith Müller García Dubois Rossi Kowalski Nguyen Novák Jensen Andersen "
         "Ødegaard O'Brien MacLeod Fernández Løvgren Šimek Weiß Brontë Lefèvre Côté "
         "Johansson Virtanen Horváth Papadopoulos Öztürk Silva Costa Moreau Lambert").split()
SUFFIXES = ["", "-Hall", " de la Cruz", "son", "berg", "ová", "-Wood", "ski", "er", "in"]
SURNAMES = [a + b for a in STEMS for b in SUFFIXES]


def v(x):
    return NULL if x is None else x


def main():
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 42
    rng = random.Random(seed)
    # Names from a generator of their own: the families' shape does not
    # depend on them.
    names = random.Random(seed + 1)
    surname = {}  # a person's last name; children take their father's
    per_cohort = int(target / COHORTS / 1.2)  # in-laws add about a fifth
    out = sys.stdout
    next_id = 1
    next_rel = 1
    # Persons of the current cohort: (id, father, mother).
    cohort = []
    persons_total = 0

    def person_block(rows):
        out.write("COPY family.person (id, first_name, last_name, father_id, father_rank, "
                  "mother_id, mother_rank) FROM stdin;\n")
        for pid, _kind, _last, f, fr, m, mr in rows:
            last = surname.get(f if f is not None else m) or names.choice(SURNAMES)
            surname[pid] = last
            first = names.choice(FIRST)
            out.write(f"{pid}\t{first}\t{last}\t{v(f)}\t{v(fr)}\t{v(m)}\t{v(mr)}\n")
        out.write("\\.\n")

    def rank():
        return rng.choices((1, 2, 3, 4, 5), (5, 10, 25, 35, 25))[0]

    # Founders.
    rows = []
    for _ in range(per_cohort):
        rows.append((next_id, "founder", f"clan{next_id % 997}", None, None, None, None))
        cohort.append((next_id, None, None))
        next_id += 1
    person_block(rows)
    persons_total += len(rows)

    grandfather_of = {}  # the father of each person of the previous cohort
    for c in range(COHORTS - 1):
        year = 1100 + 25 * c
        rng.shuffle(cohort)
        # Cousin marriages: pair people whose fathers are brothers.
        by_grandfather = {}
        paired = set()
        couples = []
        father_of = {pid: f for pid, f, _m in cohort}
        for pid, f, _m in cohort:
            if f is not None and f in grandfather_of:
                by_grandfather.setdefault(grandfather_of[f], []).append(pid)
        for group in by_grandfather.values():
            if len(group) >= 2 and rng.random() < 0.15:
                a, b = group[0], group[1]
                if father_of[a] != father_of[b]:
                    couples.append((a, b))
                    paired.update((a, b))
        # Everyone else: a partner from the cohort, or an in-law from outside.
        singles = [pid for pid, _f, _m in cohort if pid not in paired]
        inlaws = []
        i = 0
        while i < len(singles):
            a = singles[i]
            if rng.random() < 0.3 or i + 1 == len(singles):
                b = next_id
                next_id += 1
                inlaws.append((b, "inlaw", f"house{b % 991}", None, None, None, None))
                couples.append((a, b))
                i += 1
            else:
                couples.append((a, singles[i + 1]))
                i += 2
        person_block(inlaws)
        persons_total += len(inlaws)

        # Relationships: 10% end, and one partner remarries an in-law.
        rels = []
        second = []
        remarried_inlaws = []
        for a, b in couples:
            if rng.random() < 0.10:
                rels.append((next_rel, a, b, f"{year}-01-01", f"{year + 8}-01-01"))
                next_rel += 1
                n = next_id
                next_id += 1
                remarried_inlaws.append((n, "inlaw", f"house{n % 991}", None, None, None, None))
                second.append((rng.choice((a, b)), n))
            else:
                rels.append((next_rel, a, b, f"{year}-01-01", None))
                next_rel += 1
        person_block(remarried_inlaws)
        persons_total += len(remarried_inlaws)
        for a, b in second:
            rels.append((next_rel, a, b, f"{year + 10}-01-01", None))
            next_rel += 1
        out.write("COPY family.relationship (id, person_a, person_b, started_at, ended_at) "
                  "FROM stdin;\n")
        for rid, a, b, s, e in rels:
            out.write(f"{rid}\t{a}\t{b}\t{s}\t{v(e)}\n")
        out.write("\\.\n")

        # Children: about per_cohort of them, over all couples.
        all_couples = couples + second
        mean = per_cohort / len(all_couples)
        children = []
        rows = []
        for f, m in all_couples:
            for _ in range(min(8, int(rng.expovariate(1 / mean) + 0.5))):
                cid = next_id
                next_id += 1
                if rng.random() < 0.05:  # one parent unknown
                    if rng.random() < 0.5:
                        rows.append((cid, "child", "", f, rank(), None, None))
                        children.append((cid, f, None))
                    else:
                        rows.append((cid, "child", "", None, None, m, rank()))
                        children.append((cid, None, m))
                else:
                    rows.append((cid, "child", "", f, rank(), m, rank()))
                    children.append((cid, f, m))
        person_block(rows)
        persons_total += len(rows)
        grandfather_of = {pid: f for pid, f, _m in cohort if f is not None}
        cohort = children
    out.write(f"SELECT setval('family.person_id_seq', {next_id});\n")
    out.write(f"SELECT setval('family.relationship_id_seq', {next_rel});\n")
    sys.stderr.write(f"genealogy: {persons_total} persons, {next_rel - 1} relationships\n")


if __name__ == "__main__":
    main()
