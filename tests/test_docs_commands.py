"""Every ``pin-versions`` command the docs show is run, so a doc that drifts from the code fails.

Which commands: every line of a fenced block in ``DOCS`` that starts with ``pin-versions``,
``$ pin-versions``, ``python -m pin_versions.cli`` or ``python -m pin_versions.prune``
(``# ...`` comments dropped). Lines that start with ``pin-versions:`` are shown output, not
commands.

How a command becomes one that runs here, offline, on the samples:

- **Synopsis brackets.** ``[...]`` groups are optional: each command runs once without any of
  them and once with all of them; ``a|b`` inside a group gives one run per alternative. ``X
  ...`` (repeat) runs with one ``X``; a bare ``...`` (any further arguments) becomes
  ``--help``.
- **Placeholders.** Each word in ``PLACEHOLDERS`` (an upper-case name such as ``TEMPLATE``, or
  a made-up file such as ``app.yaml``) is replaced by a sample file or value; ``OUT`` and
  ``out.*`` become a file in a temporary directory with the same extension. A word that looks
  like a placeholder (all capitals) and has no mapping fails the test with the word: **when
  you add a command to the docs with a new placeholder, add it to PLACEHOLDERS** (a sample
  under samples/ for a template, a value otherwise).
- **What is checked.** ``transform``, ``explain``, ``plan``, ``--version`` and ``python -m
  pin_versions.cli`` run as a subprocess and must exit 0; ``check`` must exit 0 or 1 (1 is
  a finding) and never 2. ``prune`` talks to AWS, so its argument list is only parsed, by the
  same argparse parser the command uses (``--help``-level: every option shown exists and
  takes the value shown); no request is sent.
- **Shown output.** When a ``$ pin-versions ...`` line is followed, in the same block, by the
  output it prints, that output must be what the command prints: exactly, or, if the block
  elides with ``...`` lines, each shown line in order. ``UPDATE_DOCS=1`` rewrites exact
  output blocks from what the commands print (read the diff before committing).

The README's ``RULES=...`` line for cfn-lint is run too, with the Python it names.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import ROOT

DOCS = ("README.md", "docs/cli.md", "docs/prune.md")
SCRIPT = Path(sys.executable).parent / "pin-versions"
UPDATE = os.environ.get("UPDATE_DOCS") == "1"

DAY1 = "samples/blue-green/day1.yaml"
DAY2 = "samples/blue-green/day2.yaml"

# Placeholder -> what it stands for. "{tmp}" is a temporary directory of the run.
PLACEHOLDERS: dict[str, str] = {
    "TEMPLATE": DAY1,
    "template.yaml": DAY1,
    "OLD": DAY1,
    "old.yaml": DAY1,
    "NEW": DAY2,
    "new.yaml": DAY2,
    "deployed.yaml": DAY1,  # the template deployed now (plan's OLD in CI)
    "FILE": DAY1,
    "FILE...": DAY1,
    "*.yaml": DAY1,
    "OUT": "{tmp}/out.yaml",
    "Key=Value": "WaitSeconds=60",  # a parameter day1.yaml declares
    "NAME": "app",
    "R": "us-east-1",
    "N": "3",
    "DAYS": "30",
}

# Made-up file names a doc uses as if the reader were in their directory: created in the
# run's temporary directory from a recipe, and the command runs there (other sample paths are
# then given absolute). Recipe: (sample, lines to drop).
FILES: dict[str, tuple[str, str]] = {
    # A template not converted yet: day 1 without its Transform line.
    "app.yaml": (DAY1, r"^Transform:"),
}

_COMMAND = re.compile(r"^(?:\$ )?(?:pin-versions|python -m pin_versions\.(?:cli|prune))(?: |$)")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Shown:
    """One command line in a doc, with the output shown after it (when a ``$`` example)."""

    doc: str
    line: int
    text: str  # as written, without the "$ " and the comment
    output: tuple[str, ...] | None

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.text}"


def shown_commands() -> list[Shown]:
    found: list[Shown] = []
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for block in _FENCE.finditer(text):
            first_line = text.count("\n", 0, block.start(1)) + 1
            lines = block.group(1).splitlines()
            for index, line in enumerate(lines):
                if not _COMMAND.match(line):
                    continue
                command = line.removeprefix("$ ").split("  #", 1)[0].rstrip()
                output: tuple[str, ...] | None = None
                if line.startswith("$ "):
                    rest = lines[index + 1 :]
                    end = next((i for i, r in enumerate(rest) if r.startswith("$ ")), len(rest))
                    output = tuple(rest[:end])
                found.append(Shown(doc, first_line + index, command, output))
    return found


SHOWN = shown_commands()


def test_the_docs_show_commands() -> None:
    # If the extraction broke, every other test here would pass vacuously.
    kinds = {shlex.split(s.text)[1] for s in SHOWN if s.text.startswith("pin-versions ")}
    assert {"transform", "explain", "plan", "check", "prune", "--version"} <= kinds
    assert sum(s.output is not None and len(s.output) > 3 for s in SHOWN) >= 4


# --- from a synopsis to argument lists --------------------------------------------------


def _variants(text: str) -> list[str]:
    """The synopsis with its optional groups all left out, then all put in (one string per
    alternative of each a|b)."""
    groups = re.findall(r"\[([^\[\]]*)\]", text)
    minimal = re.sub(r"\s*\[[^\[\]]*\]", "", text)
    full = [text]
    for group in groups:
        choices = [group]
        alternatives = re.fullmatch(r"(.*?)(\S+\|\S+)(.*)", group)
        if alternatives:
            head, options, tail = alternatives.groups()
            choices = [f"{head}{option}{tail}" for option in options.split("|")]
        full = [variant.replace(f"[{group}]", choice, 1) for variant in full for choice in choices]
    return list(dict.fromkeys([minimal, *full]))


def _arguments(variant: str, tmp: Path) -> list[str]:
    words = shlex.split(variant)
    argv: list[str] = []
    for index, word in enumerate(words):
        if word in FILES:
            sample, drop = FILES[word]
            text = (ROOT / sample).read_text(encoding="utf-8")
            kept = [line for line in text.splitlines(True) if not re.match(drop, line)]
            (tmp / word).write_text("".join(kept), encoding="utf-8")
            argv.append(word)
            continue
        if word == "...":
            if index == len(words) - 1 and not argv[-1].startswith("-") and len(argv) <= 3:
                argv.append("--help")  # "any further arguments": show that it parses
            continue  # "X ...": X once
        if word in PLACEHOLDERS:
            argv.append(PLACEHOLDERS[word].format(tmp=tmp))
        elif re.fullmatch(r"out\.\w+", word):
            argv.append(str(tmp / word))
        elif re.fullmatch(r"[A-Z][A-Z_]+(\.\.\.)?", word):
            pytest.fail(
                f"placeholder {word!r} has no sample: add it to PLACEHOLDERS in "
                f"tests/test_docs_commands.py (see the module docstring)"
            )
        else:
            argv.append(word)
    return argv


def _runs(text: str, tmp: Path) -> list[list[str]]:
    """The distinct argument lists a shown command line runs as."""
    runs: list[list[str]] = []
    for variant in _variants(text):
        argv = _arguments(variant, tmp)
        if argv not in runs:
            runs.append(argv)
    return runs


# --- running ----------------------------------------------------------------------------


def _execute(argv: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    # python -m ...: the Python pin-versions is installed in.
    program = str(SCRIPT) if argv[0] == "pin-versions" else sys.executable
    command = [program, *argv[1:]]
    cwd = ROOT
    if any(word in FILES for word in argv):
        # Run where the made-up file is; sample paths must still find their files.
        cwd = tmp
        command = [str(ROOT / w) if (ROOT / w).is_file() and "/" in w else w for w in command]
    env = {k: v for k, v in os.environ.items() if k != "PIN_VERSIONS_DEBUG"}
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )


def _parse_prune(argv: list[str]) -> None:
    """Parse a prune command line with the parser the command uses; no AWS call."""
    from pin_versions import prune
    from pin_versions.local import cli

    if argv[0] == "pin-versions":
        parser = cli.build_parser()
        args = argv[1:]
    else:
        parser = _prune_parser(prune)
        args = argv[3:]
    if "--help" in args:
        with pytest.raises(SystemExit) as exited:
            parser.parse_args(args)
        assert exited.value.code == 0
        return
    parsed = parser.parse_args(args)
    assert parsed.stack == "app"


def _prune_parser(prune: object) -> object:
    import argparse

    parser = argparse.ArgumentParser(prog="pin-versions prune")
    prune.add_arguments(parser)  # type: ignore[attr-defined]
    return parser


def _is_prune(argv: list[str]) -> bool:
    return argv[:2] == ["pin-versions", "prune"] or argv[:3] == [
        "python",
        "-m",
        "pin_versions.prune",
    ]


@pytest.mark.parametrize("shown", SHOWN, ids=str)
def test_each_command_shown_runs(shown: Shown, tmp_path: Path) -> None:
    for argv in _runs(shown.text, tmp_path):
        if _is_prune(argv):
            _parse_prune(argv)
            continue
        result = _execute(argv, tmp_path)
        allowed = (0, 1) if argv[1:2] == ["check"] else (0,)
        assert result.returncode in allowed, f"{shown}\n$ {shlex.join(argv)}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        if "-o" in argv:
            written = Path(argv[argv.index("-o") + 1])
            assert written.stat().st_size > 0, f"{shown}: -o wrote nothing"


@pytest.mark.parametrize("shown", [s for s in SHOWN if s.output], ids=str)
def test_each_output_shown_is_what_the_command_prints(shown: Shown, tmp_path: Path) -> None:
    assert shown.output is not None
    argv = _runs(shown.text, tmp_path)[0]
    result = _execute(argv, tmp_path)
    printed = result.stdout.splitlines()
    expected = [line.rstrip() for line in shown.output]
    if any(line.strip() == "..." for line in expected):
        # Elided: each shown line, in order, is a printed line (leading space is layout).
        remaining = iter(line.strip() for line in printed)
        missing = [
            line for line in expected if line.strip() != "..." and line.strip() not in remaining
        ]
        assert missing == [], f"{shown}: not printed (in this order): {missing}"
        return
    if UPDATE and printed != expected:
        _rewrite(shown, printed)
    assert printed == expected, f"{shown}: the doc shows other output (UPDATE_DOCS=1 rewrites)"


def _rewrite(shown: Shown, printed: list[str]) -> None:
    path = ROOT / shown.doc
    lines = path.read_text(encoding="utf-8").split("\n")
    assert shown.output is not None
    start = shown.line  # the line after the command (0-based index of the first output line)
    assert [line.rstrip() for line in lines[start : start + len(shown.output)]] == [
        line.rstrip() for line in shown.output
    ]
    lines[start : start + len(shown.output)] = printed
    path.write_text("\n".join(lines), encoding="utf-8")


# --- the rest of what the README shows ---------------------------------------------------


def test_the_readme_rules_line_finds_the_rules() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith("RULES=")]
    python = re.search(r'"\$\((\S+) -c', line)
    assert python is not None, line
    assert (ROOT / python[1]).exists() or python[1] == "python", line
    script = line.replace(python[1], sys.executable, 1) + '\nprintf %s "$RULES"'
    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in Path(done.stdout).glob("*.py"))


_TAG_REF = re.compile(r"(?:rev:\s*|@)(v\d+\.\d+\.\d+)\b")


def test_the_docs_name_no_release_tag_that_does_not_exist() -> None:
    tags = subprocess.run(
        ["git", "tag"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    files = [
        *map(ROOT.joinpath, DOCS),
        ROOT / "docs" / "integrations.md",
        ROOT / "docs" / "github-actions.yml",
        ROOT / ".pre-commit-hooks.yaml",
    ]
    named = {
        (path.name, tag)
        for path in files
        for tag in _TAG_REF.findall(path.read_text(encoding="utf-8"))
        if tag not in tags
    }
    assert named == set()


@pytest.mark.parametrize(
    ("synopsis", "expected"),
    [
        ("pin-versions check FILE...", [["pin-versions", "check", DAY1]]),
        (
            "pin-versions transform TEMPLATE [-o OUT] [--format json|yaml]",
            [
                ["pin-versions", "transform", DAY1],
                ["pin-versions", "transform", DAY1, "-o", "{tmp}/out.yaml", "--format", "json"],
                ["pin-versions", "transform", DAY1, "-o", "{tmp}/out.yaml", "--format", "yaml"],
            ],
        ),
        ("python -m pin_versions.cli ...", [["python", "-m", "pin_versions.cli", "--help"]]),
        (
            "pin-versions prune --stack NAME [...]",
            [["pin-versions", "prune", "--stack", "app"]],
        ),
    ],
)
def test_synopsis_expansion(synopsis: str, expected: list[list[str]], tmp_path: Path) -> None:
    assert _runs(synopsis, tmp_path) == [
        [word.format(tmp=tmp_path) for word in argv] for argv in expected
    ]


def test_an_unmapped_placeholder_fails_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="placeholder 'STACKSET' has no sample"):
        _arguments("pin-versions explain STACKSET", tmp_path)
