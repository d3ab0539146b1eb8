#!/usr/bin/python3
"""The benchmark genealogy (genealogy.py) as a GEDCOM 5.5.1 file, written
independently of the extension: an INDI per person (with family's rank tags
under its FAMC), a FAM per relationship (MARR, and DIV when it ended) with
its children, and a FAM per single parent.

Usage: genealogy.py PERSONS | gedcom.py > genealogy.ged
"""
import sys

MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()


def gedcom_date(iso):
    year, month, day = (int(x) for x in iso.split("-"))
    return f"{day} {MONTHS[month - 1]} {year}"


def main():
    persons = {}  # id -> (first, last, father, father_rank, mother, mother_rank)
    families = []  # (husband, wife, started, ended)
    table = None
    for line in sys.stdin:
        if line.startswith("COPY family.person"):
            table = "person"
        elif line.startswith("COPY family.relationship"):
            table = "relationship"
        elif line.startswith("\\."):
            table = None
        elif table == "person":
            pid, first, last, f, fr, m, mr = line.rstrip("\n").split("\t")
            persons[int(pid)] = (first, last, None if f == "\\N" else int(f), fr,
                                 None if m == "\\N" else int(m), mr)
        elif table == "relationship":
            _rid, a, b, started, ended = line.rstrip("\n").split("\t")
            families.append((int(a), int(b), started, None if ended == "\\N" else ended))
    # Each child in the family of its parents: a couple's, or a single parent's.
    family_of = {(a, b): n for n, (a, b, _s, _e) in enumerate(families, 1)}
    children = {}
    famc = {}
    for pid, (_first, _last, f, _fr, m, _mr) in persons.items():
        if f is None and m is None:
            continue
        key = (f, m)
        if key not in family_of:
            family_of[key] = len(family_of) + 1
            families.append((f, m, None, None))
        n = family_of[key]
        children.setdefault(n, []).append(pid)
        famc[pid] = n
    out = sys.stdout
    out.write("0 HEAD\n1 SOUR family-bench\n1 GEDC\n2 VERS 5.5.1\n2 FORM LINEAGE-LINKED\n"
              "1 CHAR UTF-8\n")
    for pid in sorted(persons):
        first, last, f, fr, m, mr = persons[pid]
        out.write(f"0 @I{pid}@ INDI\n1 NAME {first} /{last}/\n")
        if pid in famc:
            out.write(f"1 FAMC @F{famc[pid]}@\n")
            if f is not None:
                out.write(f"2 _FATHER_RANK {fr}\n")
            if m is not None:
                out.write(f"2 _MOTHER_RANK {mr}\n")
    for n, (a, b, started, ended) in enumerate(families, 1):
        out.write(f"0 @F{n}@ FAM\n")
        if a is not None:
            out.write(f"1 HUSB @I{a}@\n")
        if b is not None:
            out.write(f"1 WIFE @I{b}@\n")
        if started:
            out.write(f"1 MARR\n2 DATE {gedcom_date(started)}\n")
        if ended:
            out.write(f"1 DIV\n2 DATE {gedcom_date(ended)}\n")
        for c in children.get(n, ()):
            out.write(f"1 CHIL @I{c}@\n")
    out.write("0 TRLR\n")
    sys.stderr.write(f"gedcom: {len(persons)} persons, {len(families)} families\n")


if __name__ == "__main__":
    main()
