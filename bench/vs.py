"""make bench-vs: the handler of another commit and of this checkout, side by side.

    python bench/vs.py [--ref REF] [--rounds N]

REF (default: the commit before the core split of issue 13) is any git revision. Its
``macro/pin_versions`` is exported with ``git archive`` and this checkout's is copied, both to
one temporary directory, compiled to bytecode. Two long-lived worker processes, one per
package, get the same generated events (bench/generate.py, 12 Tasks per state machine) and
alternate call by call, so a drift in the machine's speed falls on both. The figure is CPU
time of ``lambda_handler(event, None)`` (``time.process_time``): wall time on a shared machine
varies far more than the difference being measured. The cold import of
``pin_versions.handler`` is timed in fresh interpreters, old and new interleaved.

A report, not a test: it exits 0 whatever the figures are. "no worse" allows NOISE (the
spread between identical runs on the 2-core development machine): a change inside it is
reported as such, not as a regression or a gain.
"""

from __future__ import annotations

import argparse
import compileall
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEFORE_SPLIT = "e321394"  # the last commit before issue 13 reshaped the core
SIZES = (1, 10, 100, 400)
NOISE = 0.04  # ±4 %: identical packages measured against each other on this machine
IMPORT_ROUNDS = 21

# The worker: imports one package, then answers "size runs" lines with CPU milliseconds.
WORKER = r"""
import gc, json, os, sys, time
os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
sys.path.insert(0, sys.argv[1])
sys.path.insert(1, sys.argv[2])
import generate
from pin_versions import handler
events = {}
for line in sys.stdin:
    size, runs = map(int, line.split())
    if size not in events:
        template = generate.template(generate.Shape(machines=size))
        events[size] = json.dumps(generate.macro_event(template))
    times, status = [], ""
    for _ in range(runs):
        event = json.loads(events[size])
        gc.collect()
        start = time.process_time()
        response = handler.lambda_handler(event, None)
        times.append((time.process_time() - start) * 1000)
        status = response["status"]
    print(json.dumps({"ms": times, "status": status}), flush=True)
"""


def export(ref: str, into: Path) -> None:
    """``macro/pin_versions`` of ``ref`` into ``into/pin_versions``."""
    archive = subprocess.run(
        ["git", "archive", ref, "macro/pin_versions"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "macro" / "pin_versions").rename(into / "pin_versions")
    shutil.rmtree(into / "macro")


class Worker:
    def __init__(self, package_root: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-B", "-c", WORKER, str(package_root), str(HERE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, size: int, runs: int) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{size} {runs}\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("a worker died; run it alone to see why")
        result: dict[str, Any] = json.loads(line)
        return result

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


LOGGER = "from aws_lambda_powertools import Logger"


def import_ms(root: Path, statement: str) -> float:
    """Milliseconds of ``statement`` in a fresh interpreter with ``root`` first on sys.path."""
    code = (
        "import os, sys, time\n"
        "os.environ['POWERTOOLS_LOG_LEVEL'] = 'ERROR'\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "start = time.perf_counter()\n"
        f"{statement}\n"
        "print(time.perf_counter() - start)\n"
    )
    out = subprocess.run(
        [sys.executable, "-B", "-c", code], capture_output=True, text=True, check=True
    )
    return float(out.stdout) * 1000


def verdict(old: float, new: float) -> str:
    ratio = new / old
    if ratio <= 1 + NOISE:
        return "no worse" if ratio >= 1 - NOISE else "better"
    return "WORSE"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default=BEFORE_SPLIT, help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"old": Path(tmp) / "old", "new": Path(tmp) / "new"}
        export(args.ref, roots["old"])
        shutil.copytree(
            ROOT / "macro" / "pin_versions",
            roots["new"] / "pin_versions",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        for root in roots.values():
            compileall.compile_dir(root, quiet=1)
        head = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        print(f"old: {args.ref}   new: {head} (this checkout)   CPU ms of lambda_handler")
        print(f"{'machines':>8} {'old median':>11} {'new median':>11} {'new/old':>8}  verdict")
        workers = {name: Worker(root) for name, root in roots.items()}
        try:
            for size in SIZES:
                runs = 3 if size >= 100 else 9
                times: dict[str, list[float]] = {"old": [], "new": []}
                statuses = set()
                for _ in range(args.rounds):
                    for name, worker in workers.items():
                        result = worker.run(size, runs)
                        times[name].extend(result["ms"])
                        statuses.add((name, result["status"]))
                old, new = (statistics.median(times[n]) for n in ("old", "new"))
                failed = sorted(n for n, s in statuses if s != "success")
                # At 400 machines the processed template passes 1 MB since the day-2 grants
                # (PV909): the handler fails after doing all the work, old and new alike.
                note = f"  (failed: {', '.join(failed)})" if failed else ""
                print(
                    f"{size:>8} {old:>11.2f} {new:>11.2f} {new / old:>8.3f}  "
                    f"{verdict(old, new)}{note}"
                )
        finally:
            for worker in workers.values():
                worker.close()
        imports: dict[str, list[float]] = {"old": [], "new": [], "logger": []}
        start = time.perf_counter()
        for _ in range(IMPORT_ROUNDS):
            for name, root in roots.items():
                imports[name].append(import_ms(root, "import pin_versions.handler"))
            imports["logger"].append(import_ms(roots["new"], LOGGER))
        old, new, logger = (statistics.median(imports[n]) for n in ("old", "new", "logger"))
        print(
            f"cold import of pin_versions.handler ({IMPORT_ROUNDS} interleaved rounds, "
            f"{time.perf_counter() - start:.0f} s): old {old:.2f} ms, new {new:.2f} ms "
            f"(Powertools' Logger alone {logger:.2f} ms); the package's own share: "
            f"old {old - logger:.2f} ms, new {new - logger:.2f} ms, "
            f"new/old {(new - logger) / (old - logger):.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
