"""The README's examples, run as written (tests/stack runs them against a
database made as `make run` makes it, and the REST service of its stack).

SQL: the ```sql blocks of "Getting started", in one psql session. In a block,
the comment lines right under a statement (no blank line between) are what
psql prints for it, as "-- " + the line; a comment after a blank line
explains the next statement. The session's output must be exactly those
lines (trailing spaces and blank lines aside).

REST: the ```sh block of "Walkthrough with curl", run by bash with -e and
pipefail: every command must succeed, and a line "# -> TEXT" under a command
says that its output (stripped) is TEXT, where "..." stands for anything.
"""
import os
import re
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(TOP, "README.md")


def section(heading, text=None):
    """The text of the README section with this heading, to the next heading
    of the same or a higher level (lines in code blocks are not headings)."""
    text = text if text is not None else open(README, encoding="utf-8").read()
    out, level, fenced = None, 0, False
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        m = None if fenced else re.match(r"(#+) (.*)\n?$", line)
        if out is None:
            if m and m.group(2) == heading:
                out, level = [], len(m.group(1))
        elif m and len(m.group(1)) <= level:
            break
        else:
            out.append(line)
    if out is None:
        raise AssertionError(f"README has no section {heading!r}")
    return "".join(out)


def blocks(text, lang):
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)


def sql_expected(block):
    """The statements (the block as psql reads it) and the output lines the
    block shows."""
    expected, after_statement = [], False
    for line in block.splitlines():
        if not line.strip():
            after_statement = False
        elif line.startswith("--"):
            if after_statement:
                expected.append(line[3:] if line.startswith("-- ") else line[2:])
        else:
            after_statement = True
    return expected


def normalize(lines):
    return [line.rstrip() for line in lines if line.strip()]


def run_sql(psql_command):
    """Runs the Getting started blocks through psql_command (a list);
    returns (expected, actual) line lists."""
    text = "\n".join(blocks(section("Getting started"), "sql"))
    r = subprocess.run(psql_command, input=text, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    return normalize(sql_expected(text)), normalize(r.stdout.splitlines())


def rest_script(substitutions):
    """The walkthrough with substitutions applied (old -> new), and the
    expectations: [(command number, pattern)]."""
    text = blocks(section("Walkthrough with curl"), "sh")
    if len(text) != 1:
        raise AssertionError(f"expected one sh block in the walkthrough, found {len(text)}")
    script = text[0]
    for old, new in substitutions.items():
        if old not in script:
            raise AssertionError(f"the walkthrough no longer contains {old!r}")
        script = script.replace(old, new)
    return script


def run_rest(substitutions, env):
    """Runs the walkthrough; each "# -> TEXT" line checks the output of the
    curl command above it. Returns (exit code, stdout, stderr)."""
    lines = rest_script(substitutions).splitlines()
    out, n, i = [], 0, 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*# -> (.*)$", line)
        if m:
            pattern = "^" + ".*".join(re.escape(p) for p in m.group(1).split("...")) + "$"
            out.append(f'__out=$(cat "$__dir/{n}")')
            out.append(f"__re={shell_quote(pattern)}")
            out.append("if ! [[ $__out =~ $__re ]]; then "
                       f'echo "output of command {n}: $__out"; '
                       f"echo {shell_quote('expected: ' + m.group(1))}; exit 1; fi")
            i += 1
            continue
        command = [line]
        while command[-1].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            command.append(lines[i])
        if line.startswith("curl"):
            n += 1
            command[-1] += f' | tee "$__dir/{n}"; echo'
        out.extend(command)
        i += 1
    body = "set -euo pipefail\n__dir=$(mktemp -d)\n" + "\n".join(out) + "\n"
    r = subprocess.run(["bash", "-c", body], env=env, cwd=TOP, capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stdout, r.stderr


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"
