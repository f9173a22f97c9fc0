"""make bench: how fast and how lean PinVersions is, against what the Lambda must do anyway.

A report, not a test: it prints a table with every figure and each target's PASS/FAIL,
writes bench/results.json, and exits 0 whatever the figures are. Method: bench/README.md.

    python bench/bench.py              # the report (under 3 minutes on 2 cores)
    python bench/bench.py --profile    # also cProfile the 1 MB cases and time each import
"""

from __future__ import annotations

import argparse
import compileall
import cProfile
import gc
import json
import logging
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import generate
from generate import ACCOUNT, REGION, TASKS_PER_BLOCK, Shape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"

SIZES = (1, 10, 100, 400)  # state machines of 12 Tasks
LARGE = 400  # the size calibrated to CloudFormation's 1 MB processed-template limit
TARGET_BYTES = 990_000  # processed template JSON at LARGE: just under 1,000,000 bytes
STRESS_TASKS = 72  # the stress case: LARGE machines of 72 Tasks each, about 5 MB
IMPORT_RUNS = 11

# Timing budget per measured case (seconds) and bounds on the number of runs.
BUDGET, MIN_RUNS, MAX_RUNS = 4.0, 5, 41
STRESS_BUDGET, STRESS_MIN_RUNS = 8.0, 3
SAM_BUDGET, SAM_MIN_RUNS = 4.0, 3

# Targets (issue 5).
MAX_FLOOR_RATIO = 1.5  # handler / (json.loads + json.dumps) at the 1 MB size
MAX_LINEARITY = 1.3  # time per state machine at 400 / at 10
MAX_MEMORY_RATIO = 3.0  # peak extra memory / template JSON bytes
MAX_IMPORT_EXTRA_MS = 10.0  # handler import - Powertools Logger import
MAX_SAM_RATIO = 0.25  # PinVersions after SAM / SAM translator, same template

Json = dict[str, Any]
Call = Callable[[Json], Json]


# --- the subject --------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """The three ways the benchmark calls PinVersions."""

    handler: Call  # the Lambda handler, its log line silenced
    direct: Call  # transform() without its size limit, as a success response
    summary: Callable[[Json], Json]  # the report's counts (untimed)


def load_subject() -> Subject:
    """Imported late: the log level must be in the environment before the handler module
    creates its Powertools Logger."""
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    # aws-sam-translator warns from __del__ about metrics nobody publishes: once per call.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    from pin_versions import Context, handler, transform
    from pin_versions.event import success

    def run(event: Json) -> Any:
        context = Context(event["region"], event["accountId"], event["templateParameterValues"])
        return transform(event["fragment"], context, max_bytes=None)  # no size limit

    return Subject(
        handler=lambda event: handler.lambda_handler(event, None),
        direct=lambda event: success(event["requestId"], run(event).template),
        summary=lambda event: run(event).report.summary(),
    )


def progress(message: str) -> None:
    """A line on stderr while the report builds on stdout."""
    sys.stdout.flush()
    print(f"  .. {message}", file=sys.stderr, flush=True)


def runs_for(seconds_per_run: float, budget: float, least: int) -> int:
    runs = max(least, min(MAX_RUNS, int(budget / max(seconds_per_run, 1e-6))))
    return runs if runs % 2 else runs + 1  # odd: the median is one measured run


class GcClock:
    """Seconds the cyclic garbage collector ran since the last reset (gc.callbacks)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start


GC_CLOCK = GcClock()
gc.callbacks.append(GC_CLOCK)


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Seconds of one call. A full collection first, so every run starts from the same heap;
    the collector stays enabled inside the timed region, as in the Lambda, and GC_CLOCK
    says how much of the call it took."""
    gc.collect()
    GC_CLOCK.total = 0.0
    start = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - start, value


def ms(values: list[float]) -> float:
    """Median, in milliseconds."""
    return statistics.median(values) * 1000


def processed_bytes(template: Json) -> int:
    """The template's size as the macro's PV909 check counts it: compact JSON, UTF-8."""
    return len(json.dumps(template, separators=(",", ":"), ensure_ascii=False).encode())


def state_machines(template: Json) -> int:
    return sum(1 for r in template["Resources"].values() if r["Type"].endswith("::StateMachine"))


# --- one template through the handler, side by side with the floor -------------------------


@dataclass
class Case:
    name: str
    machines: int
    tasks: int
    input_bytes: int  # len(json.dumps(request["fragment"])): the memory figure's yardstick
    output_bytes: int  # processed_bytes(response["fragment"]): what PV909 limits
    request_bytes: int
    response_bytes: int
    runs: int
    handler_ms: float
    gc_ms: float  # of handler_ms: the cyclic GC's collections during the call
    loads_ms: float
    dumps_ms: float
    floor_ms: float  # median of (loads + dumps) per run
    floor_ratio: float
    ms_per_machine: float
    us_per_task: float
    peak_extra_bytes: int
    retained_extra_bytes: int
    memory_ratio: float  # peak extra / input bytes
    pinned: int
    subject: str  # "handler", or "transform()" when the handler rejects the size
    note: str = ""


def run_case(
    name: str,
    template: Json,
    tasks: int,
    subject: Subject,
    budget: float = BUDGET,
    least: int = MIN_RUNS,
) -> Case:
    """Time the handler on an already-parsed event, interleaved with the floor. Each run:
    ``event = json.loads(request_bytes)`` (timed: the floor's first half, and the fresh copy
    the handler gets), ``response = handler(event)`` (timed), ``json.dumps(response)`` (timed:
    the floor's second half)."""
    request = generate.macro_event(template)
    request_bytes = json.dumps(request).encode()
    start = time.perf_counter()
    kind, call, response = choose_call(name, request_bytes, subject)
    note = "" if kind == "handler" else TOO_LARGE
    output_bytes = processed_bytes(response["fragment"])
    response_bytes = len(json.dumps(response))
    runs = runs_for(time.perf_counter() - start, budget, least)
    del response

    loads: list[float] = []
    handled: list[float] = []
    collecting: list[float] = []
    dumps: list[float] = []
    for _ in range(runs):
        seconds, event = timed(json.loads, request_bytes)
        loads.append(seconds)
        seconds, response = timed(call, event)
        handled.append(seconds)
        collecting.append(GC_CLOCK.total)
        seconds, _ = timed(json.dumps, response)
        dumps.append(seconds)
        del event, response

    peak, retained = peak_memory(call, request_bytes)
    machines = state_machines(template)
    input_bytes = len(json.dumps(request["fragment"]))
    handler_ms = ms(handled)
    floor_ms = ms([a + b for a, b in zip(loads, dumps, strict=True)])
    return Case(
        name=name,
        machines=machines,
        tasks=tasks,
        input_bytes=input_bytes,
        output_bytes=output_bytes,
        request_bytes=len(request_bytes),
        response_bytes=response_bytes,
        runs=runs,
        handler_ms=handler_ms,
        gc_ms=ms(collecting),
        loads_ms=ms(loads),
        dumps_ms=ms(dumps),
        floor_ms=floor_ms,
        floor_ratio=handler_ms / floor_ms,
        ms_per_machine=handler_ms / machines,
        us_per_task=handler_ms * 1000 / tasks,
        peak_extra_bytes=peak,
        retained_extra_bytes=retained,
        memory_ratio=peak / input_bytes,
        pinned=int(subject.summary(request)["pinned"]),
        subject=kind,
        note=note,
    )


TOO_LARGE = (
    "the handler rejects this size (PV909, after doing the work): "
    "transform(max_bytes=None) timed instead"
)


def choose_call(name: str, request_bytes: bytes, subject: Subject) -> tuple[str, Call, Json]:
    """The handler, or transform() without its size limit when the handler answers PV909;
    with the response of a first (warm-up) call."""
    response = subject.handler(json.loads(request_bytes))
    if response["status"] == "success":
        return "handler", subject.handler, response
    message = str(response.get("errorMessage", ""))
    if "PV909" not in message:
        raise SystemExit(f"{name}: the handler failed: {message}")
    return "transform()", subject.direct, subject.direct(json.loads(request_bytes))


def peak_memory(call: Call, request_bytes: bytes) -> tuple[int, int]:
    """Peak and retained bytes one call allocates beyond its parsed event (tracemalloc, one
    untimed run). The response shares the request's unchanged parts, so only new objects
    count; the response is still alive when the peak is read."""
    gc.collect()
    tracemalloc.start()
    try:
        event = json.loads(request_bytes)
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        response = call(event)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del event, response
    return peak - baseline, current - baseline


# --- calibration: the largest size lands just under 1 MB ------------------------------------


def calibrate(subject: Subject) -> tuple[int, int]:
    """The Comment length that brings the processed template at LARGE machines to
    TARGET_BYTES. The Comment is never rewritten, so the output grows with it exactly as the
    input does: one transform at the default pad, and the input's slope."""
    base = Shape(LARGE)
    before = generate.macro_event(generate.template(base))
    output = processed_bytes(subject.direct(before)["fragment"])
    wider = generate.macro_event(generate.template(Shape(LARGE, pad=base.pad + 100)))
    slope = (processed_bytes(wider["fragment"]) - processed_bytes(before["fragment"])) / 100
    return max(0, base.pad + int((TARGET_BYTES - output) / slope)), output


# --- the SAM translator as the peer -----------------------------------------------------------


@dataclass
class SamCase:
    machines: int
    sam_bytes: int  # the SAM template's JSON
    translated_bytes: int  # after SAM, before PinVersions
    runs: int
    sam_ms: float  # sam_local.translate (with its deep copy and boto3 Session)
    after_ms: float  # PinVersions handler on the translated template: [SAM, PinVersions]
    after_ratio: float
    after_pinned: int
    before_ms: float  # PinVersions handler on the SAM template itself: [PinVersions, SAM]
    before_ratio: float
    before_pinned: int
    after_subject: str  # "handler", or "transform()" when the handler rejects the size
    before_subject: str


def run_sam_case(machines: int, pad: int, subject: Subject) -> SamCase:
    from pin_versions.local.sam_local import translate

    sam = generate.template(Shape(machines, pad=pad), sam=True)
    start = time.perf_counter()
    translated = translate(sam, {}, REGION, ACCOUNT)
    after = json.dumps(generate.macro_event(translated)).encode()
    before = json.dumps(generate.macro_event(sam)).encode()
    after_kind, after_call, _ = choose_call(f"after SAM, {machines} SMs", after, subject)
    before_kind, before_call, _ = choose_call(f"before SAM, {machines} SMs", before, subject)
    runs = runs_for(time.perf_counter() - start, SAM_BUDGET, SAM_MIN_RUNS)

    translating: list[float] = []
    pinning_after: list[float] = []
    pinning_before: list[float] = []
    for _ in range(runs):
        seconds, _ = timed(translate, sam, {}, REGION, ACCOUNT)
        translating.append(seconds)
        for request, call, times in (
            (after, after_call, pinning_after),
            (before, before_call, pinning_before),
        ):
            event = json.loads(request)
            seconds, _ = timed(call, event)
            times.append(seconds)
            del event
    sam_ms = ms(translating)
    return SamCase(
        machines=machines,
        sam_bytes=len(json.dumps(sam)),
        translated_bytes=len(json.dumps(translated)),
        runs=runs,
        sam_ms=sam_ms,
        after_ms=ms(pinning_after),
        after_ratio=ms(pinning_after) / sam_ms,
        after_pinned=int(subject.summary(json.loads(after))["pinned"]),
        before_ms=ms(pinning_before),
        before_ratio=ms(pinning_before) / sam_ms,
        before_pinned=int(subject.summary(json.loads(before))["pinned"]),
        after_subject=after_kind,
        before_subject=before_kind,
    )


# --- cold start: imports in fresh interpreters ----------------------------------------------

IMPORTS = {  # name -> (statement, pin_versions compiled to .pyc beforehand)
    "logger": ("from aws_lambda_powertools import Logger", True),
    "handler": ("import pin_versions.handler", True),
    "handler-no-pyc": ("import pin_versions.handler", False),
}


def import_ms(statement: str, path: str) -> float:
    """Milliseconds of one import statement in a fresh interpreter (``-B``: it writes no
    bytecode, so every run finds the same files)."""
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {path!r})\n"
        "start = time.perf_counter()\n"
        f"{statement}\n"
        "print(time.perf_counter() - start)\n"
    )
    out = subprocess.run(
        [sys.executable, "-B", "-c", code], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip()) * 1000


@contextmanager
def package_copies() -> Iterator[dict[bool, Path]]:
    """Two copies of macro/pin_versions in a temporary directory: compiled to .pyc (True)
    and without any bytecode (False); each path is what to put first on sys.path."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = {True: Path(tmp) / "compiled", False: Path(tmp) / "source"}
        for compiled, path in paths.items():
            shutil.copytree(
                ROOT / "macro" / "pin_versions",
                path / "pin_versions",
                ignore=shutil.ignore_patterns("__pycache__"),
            )
            if compiled:
                compileall.compile_dir(path, quiet=1)
        yield paths


def cold_start() -> dict[str, Any]:
    """Median import time of each statement over IMPORT_RUNS rounds that interleave them.

    pin_versions is imported from two copies of macro/pin_versions in a temporary directory
    (put first on sys.path): one compiled to .pyc with compileall, one without bytecode, so
    the figures do not depend on PYTHONDONTWRITEBYTECODE or on what earlier runs left in
    macro/. Powertools always loads the .pyc pip wrote when it installed it.
    """
    times: dict[str, list[float]] = {name: [] for name in IMPORTS}
    with package_copies() as paths:
        for _ in range(IMPORT_RUNS):
            for name, (statement, compiled) in IMPORTS.items():
                times[name].append(import_ms(statement, str(paths[compiled])))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "runs": IMPORT_RUNS,
        "median_ms": medians,
        "min_ms": {name: min(values) for name, values in times.items()},
        "handler_extra_ms": medians["handler"] - medians["logger"],
        "handler_no_pyc_extra_ms": medians["handler-no-pyc"] - medians["logger"],
    }


# --- report -------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": len(affinity(0)) if affinity else os.cpu_count(),
        "cpu_model": model,
        "aws-lambda-powertools": metadata.version("aws-lambda-powertools"),
        "aws-sam-translator": metadata.version("aws-sam-translator"),
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }


def kib(n: int) -> str:
    return f"{n / 1024:,.0f}"


def print_cases(cases: list[Case]) -> None:
    print("PinVersions handler against the floor (json.loads request + json.dumps response), ms:")
    head = (
        f"{'case':<9}{'SMs':>4}{'Tasks':>6}{'in KiB':>7}{'out bytes':>11}{'runs':>5}"
        f"{'PV':>8}{'(GC)':>7}{'loads':>7}{'dumps':>7}{'floor':>7}{'PV/fl':>6}"
        f"{'ms/SM':>7}{'µs/Task':>8}{'peak KiB':>9}{'peak/in':>8}{'pinned':>7}"
    )
    print(head)
    print("-" * len(head))
    for c in cases:
        print(
            f"{c.name:<9}{c.machines:>4}{c.tasks:>6}{kib(c.input_bytes):>7}"
            f"{c.output_bytes:>11,}{c.runs:>5}{c.handler_ms:>8.1f}{c.gc_ms:>7.1f}{c.loads_ms:>7.1f}"
            f"{c.dumps_ms:>7.1f}{c.floor_ms:>7.1f}{c.floor_ratio:>6.1f}"
            f"{c.ms_per_machine:>7.3f}{c.us_per_task:>8.1f}{kib(c.peak_extra_bytes):>9}"
            f"{c.memory_ratio:>8.2f}{c.pinned:>7}"
        )
    print(
        "  in: json.dumps(fragment) of the request. out: the processed template as PV909 counts\n"
        "  it (compact JSON, UTF-8). PV: the handler, (GC) of it the garbage collector. floor:\n"
        "  json.loads(request bytes) + json.dumps(response). peak: tracemalloc peak of the call\n"
        "  beyond its parsed event. pinned: Task targets pinned (s3 form: substitution values)."
    )
    for c in cases:
        if c.note:
            print(f"  {c.name}: {c.note}")


def print_sam(cases: list[SamCase]) -> None:
    print("The SAM translator (sam_local.translate) on the equivalent SAM template, and the")
    print(
        "PinVersions handler after it ([SAM, PinVersions]) and before it ([PinVersions, SAM]), ms:"
    )
    head = (
        f"{'SMs':>4}{'SAM KiB':>9}{'after KiB':>10}{'runs':>5}{'SAM':>8}"
        f"{'PV after':>10}{'/SAM':>6}{'pinned':>7}{'PV before':>11}{'/SAM':>6}{'pinned':>7}"
    )
    print(head)
    print("-" * len(head))
    for s in cases:
        print(
            f"{s.machines:>4}{kib(s.sam_bytes):>9}{kib(s.translated_bytes):>10}{s.runs:>5}"
            f"{s.sam_ms:>8.1f}{s.after_ms:>10.1f}{s.after_ratio:>6.2f}{s.after_pinned:>7}"
            f"{s.before_ms:>11.1f}{s.before_ratio:>6.2f}{s.before_pinned:>7}"
        )
    for s in cases:
        for order, kind in (("after", s.after_subject), ("before", s.before_subject)):
            if kind != "handler":
                print(f"  {s.machines} SMs, PV {order} SAM: {TOO_LARGE}")
    if not any(s.before_pinned for s in cases):
        print("  PinVersions pins nothing in a SAM template yet: only the after-SAM figure counts.")


def print_imports(imports: dict[str, Any]) -> None:
    print(f"Cold start: the import in a fresh interpreter, median (min) of {imports['runs']}:")
    for name, (statement, compiled) in IMPORTS.items():
        label = statement if compiled else f"{statement} (no .pyc: compiled from source)"
        median, least = imports["median_ms"][name], imports["min_ms"][name]
        print(f"  {label:<66}{median:>7.1f} ms ({least:.1f})")
    print(
        f"  the handler adds {imports['handler_extra_ms']:.1f} ms to the Logger import "
        f"({imports['handler_no_pyc_extra_ms']:.1f} ms when pin_versions has no .pyc)"
    )


Verdict = dict[str, Any]


def verdict(target: str, limit: float | None, value: float, detail: str) -> Verdict:
    """A target row; ``limit`` None is information, not a target."""
    return {
        "target": target,
        "limit": limit,
        "measured": round(value, 3),
        "detail": detail,
        "pass": None if limit is None else value <= limit,
    }


def verdicts(cases: dict[str, Case], sams: dict[int, SamCase], imports: Json) -> list[Verdict]:
    large, small, stress, sam = cases[f"{LARGE} SMs"], cases["10 SMs"], cases["stress"], sams[LARGE]
    linearity = large.ms_per_machine / small.ms_per_machine
    worst = max(cases.values(), key=lambda c: c.memory_ratio)
    return [
        verdict(
            f"PV / floor at the 1 MB size ({LARGE} SMs)",
            MAX_FLOOR_RATIO,
            large.floor_ratio,
            f"{large.handler_ms:.1f} ms / {large.floor_ms:.1f} ms",
        ),
        verdict(
            f"time per SM at {LARGE} / at 10",
            MAX_LINEARITY,
            linearity,
            f"{large.ms_per_machine:.3f} / {small.ms_per_machine:.3f} ms",
        ),
        verdict(
            "peak extra memory / template JSON, worst case",
            MAX_MEMORY_RATIO,
            worst.memory_ratio,
            f"{worst.name}: {kib(worst.peak_extra_bytes)} KiB / {kib(worst.input_bytes)} KiB",
        ),
        verdict(
            "handler import - Logger import, ms",
            MAX_IMPORT_EXTRA_MS,
            imports["handler_extra_ms"],
            f"{imports['median_ms']['handler']:.1f} - {imports['median_ms']['logger']:.1f} ms",
        ),
        verdict(
            f"PV after SAM / SAM translator ({LARGE} SMs)",
            MAX_SAM_RATIO,
            sam.after_ratio,
            f"{sam.after_ms:.1f} ms / {sam.sam_ms:.1f} ms",
        ),
        verdict(
            "  info: µs per Task, stress / 400 SMs",
            None,
            stress.us_per_task / large.us_per_task,
            f"{stress.us_per_task:.1f} / {large.us_per_task:.1f} µs "
            f"({stress.tasks // stress.machines} vs {TASKS_PER_BLOCK} Tasks per SM)",
        ),
        verdict(
            "  info: GC share of PV at the 1 MB size",
            None,
            large.gc_ms / large.handler_ms,
            f"{large.gc_ms:.1f} ms of {large.handler_ms:.1f} ms",
        ),
        verdict(
            "  info: the same import without .pyc, ms",
            None,
            imports["handler_no_pyc_extra_ms"],
            f"{imports['median_ms']['handler-no-pyc']:.1f} - "
            f"{imports['median_ms']['logger']:.1f} ms",
        ),
        verdict(
            f"  info: PV before SAM / SAM translator ({LARGE} SMs)",
            None,
            sam.before_ratio,
            f"{sam.before_ms:.1f} ms / {sam.sam_ms:.1f} ms, {sam.before_pinned} pinned",
        ),
    ]


def print_verdicts(rows: list[Verdict]) -> None:
    print(f"{'target':<50}{'limit':>7}{'measured':>10}  {'result':<7}detail")
    for row in rows:
        limit = "" if row["limit"] is None else f"<= {row['limit']:g}"
        result = {True: "PASS", False: "FAIL", None: ""}[row["pass"]]
        print(f"{row['target']:<50}{limit:>7}{row['measured']:>10.2f}  {result:<7}{row['detail']}")


def profile(subject: Subject, pad: int) -> None:
    """cProfile of the handler at the 1 MB size and after SAM at LARGE (top functions by
    cumulative and by own time), then each pin_versions module's import (-X importtime)."""
    from pin_versions.local.sam_local import translate

    plain = generate.macro_event(generate.template(Shape(LARGE, pad=pad)))
    sam = generate.template(Shape(LARGE, pad=pad), sam=True)
    after = generate.macro_event(translate(sam, {}, REGION, ACCOUNT))
    for title, request in ((f"{LARGE} SMs", plain), (f"{LARGE} SMs after SAM", after)):
        event = json.loads(json.dumps(request))
        profiler = cProfile.Profile()
        profiler.runcall(subject.handler, event)
        stats = pstats.Stats(profiler, stream=sys.stdout)
        print(f"\n--- cProfile: handler, {title}: top 30 by cumulative time ---")
        stats.sort_stats("cumulative").print_stats(30)
        print(f"--- cProfile: handler, {title}: top 20 by own time ---")
        stats.sort_stats("tottime").print_stats(20)
    with package_copies() as paths:
        code = f"import sys; sys.path.insert(0, {str(paths[True])!r}); import pin_versions.handler"
        out = subprocess.run(
            [sys.executable, "-B", "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            check=True,
        )
    print("--- python -X importtime, import pin_versions.handler (compiled): our modules ---")
    for line in out.stderr.splitlines():
        if "pin_versions" in line or "| import time" in line:
            print(line)


def measure(subject: Subject, pad: int) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for machines in SIZES:
        name = f"{machines} SMs"
        shape = Shape(machines, pad=pad)
        cases[name] = run_case(name, generate.template(shape), machines * shape.tasks, subject)
        progress(f"measured {name}")
    stress = Shape(LARGE, tasks=STRESS_TASKS, pad=pad)
    cases["stress"] = run_case(
        "stress",
        generate.template(stress),
        LARGE * STRESS_TASKS,
        subject,
        STRESS_BUDGET,
        STRESS_MIN_RUNS,
    )
    progress("measured the stress case")
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="also cProfile the 1 MB cases")
    args = parser.parse_args()
    began = time.perf_counter()
    subject = load_subject()
    info = machine_info()
    print(
        f"PinVersions benchmark: {info['python']} on {info['platform']}, {info['cpus']} CPUs "
        f"({info['cpu_model']}); aws-lambda-powertools {info['aws-lambda-powertools']}, "
        f"aws-sam-translator {info['aws-sam-translator']}; 1-minute load average "
        f"{info['load_average_at_start']} at the start."
    )
    print(
        "Medians of the runs shown (time.perf_counter; GC enabled, a full collection before\n"
        "each timed call). Handler log level ERROR: its INFO line is skipped, not formatted."
    )
    pad, uncalibrated = calibrate(subject)
    print(
        f"Templates: {len(generate.FORMS)} definition forms in turn, {Shape(1).functions} "
        f"shared functions, {Shape(1).roles} shared roles, {TASKS_PER_BLOCK} Tasks per SM "
        f"(stress: {STRESS_TASKS}); definition Comment {pad} chars (the default "
        f"{Shape(1).pad} gave {uncalibrated:,} processed bytes at {LARGE} SMs; aim "
        f"{TARGET_BYTES:,}).\n"
    )
    cases = measure(subject, pad)
    print_cases(list(cases.values()))
    sams: dict[int, SamCase] = {}
    for machines in SIZES:
        sams[machines] = run_sam_case(machines, pad, subject)
        progress(f"measured SAM, {machines} SMs")
    print()
    print_sam(list(sams.values()))
    imports = cold_start()
    print()
    print_imports(imports)
    rows = verdicts(cases, sams, imports)
    print()
    print_verdicts(rows)

    elapsed = time.perf_counter() - began
    results = {
        "machine": info,
        "generator": {"comment_pad": pad, "target_bytes": TARGET_BYTES},
        "cases": [asdict(c) for c in cases.values()],
        "sam": [asdict(s) for s in sams.values()],
        "cold_start": imports,
        "targets": rows,
        "elapsed_s": round(elapsed, 1),
        "load_average_at_end": round(os.getloadavg()[0], 2),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    judged = [row for row in rows if row["pass"] is not None]
    failed = [row["target"] for row in judged if not row["pass"]]
    print(
        f"\nSummary: {len(judged) - len(failed)}/{len(judged)} targets pass"
        + (f" (FAIL: {'; '.join(failed)})" if failed else "")
        + f"; {elapsed:.0f} s, load average {results['load_average_at_end']} at the end; "
        f"results in {RESULTS.relative_to(ROOT)}"
    )
    if args.profile:
        profile(subject, pad)
    return 0  # a report: the figures, not the exit code, say how it went


if __name__ == "__main__":
    sys.exit(main())
