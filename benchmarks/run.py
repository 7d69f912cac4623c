"""modelreg's benchmarks: one command, ratios against baselines measured in the same run.

    python benchmarks/run.py                # 10x5, 100x10, 1000x10 and a 1 GiB file
    python benchmarks/run.py --huge         # also 10,000 x 10 (120,000 tags)
    python benchmarks/run.py --sizes 10x5 --big-file-gib 0 --runs 3 --skip-gto

Run it with the Python that has modelreg installed (``.venv/bin/python``); GTO
and DVC are taken from beside it. Every figure is the median wall time of whole
processes: one warm-up round (which also checks the output), then ``--runs``
rounds in which every command and its baseline run once in turn, so both see
the same load on a shared machine. Next to each:

* reads (``list --json``, ``show``, ``history``, ``resolve``): ``git
  for-each-ref`` on the same repository, asked for every field modelreg reads
  (name, object, peeled target, tagger, date, message), and GTO (``gto show``,
  ``gto show NAME``) up to ``--gto-max``;
* ``promote``: ``gto assign``, and promote at the smallest size; ``register``
  of a small file at each size;
* ``modelreg --help``: ``python -c "import click"``;
* ``register`` of a big file (from outside the registry, and already in
  ``models/big/``): ``dvc add`` of the same file, each in a fresh repository,
  with the same DVC cache type, and the ``md5sum`` + ``cp`` floor; ``get`` from a
  local-directory DVC remote: ``cp`` of the remote's object;
* CPU time (user + system, with the children waited for) and peak RSS of each.

The server (``modelreg serve``) has its own command beside this one,
``benchmarks/serve.py``, with the same rules.

Registries are built by ``generate.py`` (one ``git fast-import``), in an
isolated environment (own HOME, git and DVC config). Results print as a table
with the targets of issue 6, and go to ``benchmarks/results/<time>.json`` and
``.md`` (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import ARTIFACT, Shape, generate, model_name, version_text
from isolation import isolated_env

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FLOOR_FORMAT = "%00".join(
    [
        "%(refname)",
        "%(objectname)",
        "%(*objectname)",
        "%(taggername)",
        "%(taggeremail)",
        "%(taggerdate:unix)",
        "%(contents)",
    ]
)
GTO_MEASURED_1000X10 = 345.0  # seconds, gto show at 1,000 x 10 (issue 6)
MIB = 1 << 20


# --- running and timing processes ----------------------------------------------------


@dataclass
class Measurement:
    label: str
    samples: list[float] = field(default_factory=list)  # wall seconds
    cpu: list[float] = field(default_factory=list)  # user + system seconds
    max_rss_kb: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


class Failed(RuntimeError):
    pass


@dataclass
class Run:
    seconds: float
    cpu: float
    max_rss_kb: int
    stdout: str


def _gnu_time() -> str | None:
    """GNU time, to read a command's peak RSS (see :func:`run_once`)."""
    found = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if found is None:
        return None
    done = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
    return found if "GNU" in done.stdout + done.stderr else None


GNU_TIME = _gnu_time()


def run_once(argv: Sequence[str], cwd: Path, env: dict[str, str], capture: bool = False) -> Run:
    """Run one process: wall and CPU seconds, peak RSS, stdout if captured.

    CPU time comes from wait4(): the process and the children it waited for
    (git, for modelreg). Peak RSS too, but a child forked from this (large)
    Python process starts with its RSS as its high-water mark; so, where GNU
    time is installed, the command runs under it and its %M (the command's own
    peak, or that of a child it waited for) is the figure.
    """
    with (
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryFile() as out,
        tempfile.NamedTemporaryFile("r") as rss,
    ):
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv] if GNU_TIME else list(argv)
        start = time.perf_counter()
        process = subprocess.Popen(
            wrapped,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out if capture else subprocess.DEVNULL,
            stderr=err,
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            err.seek(0)
            raise Failed(
                f"{' '.join(argv)} (in {cwd}) exited {process.returncode}: "
                f"{err.read().decode(errors='replace')[-2000:]}"
            )
        out.seek(0)
        peak = int(rss.read().split()[-1]) if GNU_TIME else int(usage.ru_maxrss)
        return Run(
            elapsed, usage.ru_utime + usage.ru_stime, peak, out.read().decode(errors="replace")
        )


@dataclass
class Spec:
    """One command to time. ``argv``, ``before`` and ``after`` get the run number
    (0 is the warm-up), so writes can act on another model each run; ``before``
    and ``after`` are not timed; ``check`` reads the warm-up run's stdout."""

    label: str
    argv: Callable[[int], Sequence[str]]
    cwd: Path
    check: Callable[[str], object] | None = None
    before: Callable[[int], object] | None = None
    after: Callable[[int], object] | None = None


def measure_all(specs: Sequence[Spec], env: dict[str, str], runs: int) -> dict[str, Measurement]:
    """One warm-up round, then ``runs`` rounds, each running every spec once in turn.

    Interleaving keeps a ratio honest on a shared machine: a command and its
    baseline see the same load, instead of one batch in a busy minute and the
    other in a quiet one.
    """
    results = {spec.label: Measurement(spec.label) for spec in specs}
    for run in range(runs + 1):
        if run == 1:  # what the warm-up wrote (a first state cache: 60 MB at 10,000 x 10)
            os.sync()  # goes to disk now, not during the timed rounds
        for spec in specs:
            if spec.before is not None:
                spec.before(run)
            done = run_once(spec.argv(run), spec.cwd, env, capture=run == 0)
            if run == 0:
                if spec.check is not None:
                    spec.check(done.stdout)
            else:
                m = results[spec.label]
                m.samples.append(done.seconds)
                m.cpu.append(done.cpu)
                m.max_rss_kb = max(m.max_rss_kb, done.max_rss_kb)
            if spec.after is not None:
                spec.after(run)
    for m in results.values():
        print(f"    {m.label:<44} {m.median:8.3f} s  (CPU {m.cpu_median:.3f} s)", flush=True)
    return results


def tool(name: str) -> list[str] | None:
    """The command for a console script installed beside this Python, or on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return [str(beside)]
    found = shutil.which(name)
    return [found] if found else None


# --- the machine -------------------------------------------------------------------------


def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    except OSError:
        return "?"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def filesystem(path: Path) -> str:
    """The type of the filesystem holding ``path`` (the longest mount point above it)."""
    best, kind = "", "?"
    target = str(path.resolve())
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


MEMORY_NOTE = (
    "this machine returns freed memory to its host (free page reporting): writing page cache "
    "into fresh memory costs ~2.5 s of system time per GiB, into just-freed memory 0.3 s, so "
    "the 1 GiB figures that write more than their baseline vary by seconds (see README)"
)


def returns_free_memory() -> bool:
    """Whether this (virtual) machine hands freed memory back to its host (Linux
    free page reporting, as in Firecracker VMs). There, page cache written into
    memory the host took back costs ~2.5 s of system time per GiB, while ``cp``,
    which reuses the pages its previous copy just freed, costs 0.3 s: a command
    that writes more new page cache than its baseline pays for the difference."""
    try:
        reported = Path("/sys/module/page_reporting/parameters/reported_kib").read_text()
        return int(reported.strip() or 0) > 0
    except (OSError, ValueError):
        return False


def machine(work: Path) -> dict[str, object]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024} MiB"
    except OSError:
        pass
    modelreg = tool("modelreg")
    gto, dvc = tool("gto"), tool("dvc")
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "filesystem": filesystem(work),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "git": _first_line(["git", "--version"]),
        "modelreg": _first_line([*modelreg, "--version"]) if modelreg else "?",
        "dvc": _first_line([*dvc, "--version"]) if dvc else "-",
        "gto": _first_line([*gto, "--version"]).split(":")[-1].strip() if gto else "-",
        "loadavg": os.getloadavg(),
        "returns_free_memory": returns_free_memory(),
        "peak_rss_from": "GNU time %M" if GNU_TIME else "wait4 (includes this runner's RSS)",
    }


# --- the table ---------------------------------------------------------------------------


@dataclass
class Row:
    section: str
    command: str
    seconds: float
    baseline: str | None = None
    baseline_seconds: float | None = None
    gto_seconds: float | None = None
    max_rss_mb: float | None = None
    cpu_seconds: float | None = None
    samples: list[float] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        section: str,
        command: str,
        m: Measurement,
        baseline: Measurement | None = None,
        baseline_name: str | None = None,
        gto: Measurement | None = None,
        rss: bool = True,
    ) -> Row:
        return cls(
            section,
            command,
            m.median,
            baseline_name if baseline is not None else None,
            baseline.median if baseline is not None else None,
            gto.median if gto is not None else None,
            m.max_rss_kb / 1024 if rss else None,
            m.cpu_median,
            m.samples,
        )

    @property
    def ratio(self) -> float | None:
        if self.baseline_seconds:
            return self.seconds / self.baseline_seconds
        return None

    @property
    def gto_ratio(self) -> float | None:
        return self.gto_seconds / self.seconds if self.gto_seconds else None


def paired(a: Row, b: Row) -> float | None:
    """The median, over the rounds, of ``a``'s time over ``b``'s in the same round
    (None: not timed in the same rounds). Each round runs every command once, a
    few seconds apart; a ratio of two medians could pair a round the VM ran fast
    with one it ran slow (``import click`` took 53 and 83 ms in one section)."""
    if not a.samples or len(a.samples) != len(b.samples):
        return None
    return statistics.median(x / y for x, y in zip(a.samples, b.samples, strict=True))


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.3f} s" if seconds < 100 else f"{seconds:.0f} s"


def _x(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def table(rows: Sequence[Row]) -> list[list[str]]:
    head = ["registry", "command", "median", "CPU", "baseline", "baseline median", "ratio"]
    head += ["GTO", "GTO / modelreg", "peak RSS"]
    out = [head]
    for row in rows:
        out.append(
            [
                row.section,
                row.command,
                _fmt(row.seconds),
                _fmt(row.cpu_seconds),
                row.baseline or "-",
                _fmt(row.baseline_seconds),
                _x(row.ratio),
                _fmt(row.gto_seconds),
                _x(row.gto_ratio),
                f"{row.max_rss_mb:.0f} MB" if row.max_rss_mb else "-",
            ]
        )
    return out


def plain(cells: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(cells: list[list[str]]) -> str:
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("---" for _ in cells[0]) + "|")
    return "\n".join(lines)


# --- registries of N x M ---------------------------------------------------------------


def bench_size(
    shape: Shape,
    work: Path,
    env: dict[str, str],
    args: argparse.Namespace,
    modelreg: list[str],
    gto: list[str] | None,
) -> list[Row]:
    root = work / f"registry-{shape}"
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    generate(
        root,
        shape,
        modelreg=modelreg,
        env=env,
        remote=work / f"remote-{shape}",
        pack=not args.loose_refs,
    )
    built = time.perf_counter() - started
    print(f"\n  {shape}: {shape.tags:,} tags, generated in {built:.1f} s", flush=True)
    name = model_name(shape.models // 2)
    production = version_text(shape.versions - 1)
    latest = version_text(shape.versions)
    section = f"{shape} ({shape.tags:,} tags)"

    def listed(out: str) -> None:
        models = json.loads(out)["models"]
        if len(models) != shape.models:
            raise Failed(f"list --json: {len(models)} models, expected {shape.models}")

    def resolved(out: str) -> None:
        if out.strip() != production:
            raise Failed(f"resolve: {out.strip()!r}, expected {production}")

    def gto_sees_every_model(out: str) -> None:
        missing = [i for i in range(shape.models) if model_name(i) not in out]
        if missing:
            raise Failed(f"gto show does not list {model_name(missing[0])}")

    def gto_sees_the_stages(out: str) -> None:
        for stage, version in (("production", production), ("staging", latest)):
            if not any(stage in line and f"v{version}" in line for line in out.splitlines()):
                raise Failed(f"gto show {name}: no {stage} at v{version}")

    small = work / "small" / ARTIFACT
    small.parent.mkdir(exist_ok=True)
    if not small.exists():
        small.write_bytes(os.urandom(4096))
    mr = [*modelreg, "-q"]
    every = [f"--format={FLOOR_FORMAT}"]
    specs = [
        Spec("floor", lambda _r: ["git", "for-each-ref", *every, "refs/tags"], root),
        Spec("import click", lambda _r: CLICK, root),
        Spec(
            "floor-one",
            lambda _r: [
                "git",
                "for-each-ref",
                *every,
                f"refs/tags/{name}@*",
                f"refs/tags/{name}#*",
            ],
            root,
        ),
        Spec("list", lambda _r: [*mr, "list", "--json"], root, check=listed),
        Spec("show", lambda _r: [*mr, "show", name], root),
        Spec("history", lambda _r: [*mr, "history", name], root),
        Spec("resolve", lambda _r: [*mr, "resolve", f"{name}#production"], root, check=resolved),
    ]
    writes = [
        # Writes act on another model each run, so every run does the same work.
        Spec(
            "promote",
            lambda r: [*mr, "promote", f"{model_name(r % shape.models)}@v0.1.0", "--to", "dev"],
            root,
        ),
        Spec(
            "register",
            lambda r: [
                *mr,
                "register",
                model_name(shape.models - 1 - r % shape.models),
                str(small),
            ],
            root,
        ),
        # A read right after a tag was written: the state cache does not trust a refs
        # fingerprint younger than RACY_NS alone, so it asks git again.
        Spec(
            "resolve after a promote",
            lambda _r: [*mr, "resolve", f"{name}#production"],
            root,
            before=lambda r: run_once(
                [*mr, "promote", f"{model_name((r + 7) % shape.models)}@v0.3.0", "--to", "dev"],
                root,
                env,
            ),
        ),
    ]
    if shape.models >= 1000:
        # promote is compared with promote at 10 x 5 in the same rounds: this VM's
        # speed moves by half within a minute, so two sections' medians, minutes
        # apart, would compare two machines.
        side = work / f"registry-{shape}-side-{SIDE}"
        shutil.rmtree(side, ignore_errors=True)
        generate(side, SIDE, modelreg=modelreg, env=env, remote=work / f"remote-{shape}-side")
        writes.insert(
            1,
            Spec(
                SIDE_PROMOTE,
                lambda r: [*mr, "promote", f"{model_name(r % SIDE.models)}@v0.1.0", "--to", "dev"],
                side,
            ),
        )
    with_gto = gto is not None and not args.skip_gto
    if with_gto and gto is not None and shape.tags <= Shape.parse(args.gto_max).tags:
        specs += [
            Spec("gto show", lambda _r: [*gto, "show"], root, check=gto_sees_every_model),
            Spec(
                "gto show NAME",
                lambda _r: [*gto, "show", name],
                root,
                check=gto_sees_the_stages,
            ),
        ]
        writes += [
            Spec(
                "gto assign",
                lambda r: [
                    *gto,
                    "assign",
                    model_name(r % shape.models),
                    *("--version", "v0.2.0", "--stage", "dev"),
                ],
                root,
            ),
        ]
    # Reads are timed on a registry nobody wrote to for RACY_NS (as most reads
    # are), its files written back to disk (not while the clock runs); the writes
    # after them, then a read right after a write, on their own.
    os.sync()
    settle()
    m = measure_all(specs, env, args.runs)
    m.update(measure_all(writes, env, args.runs))
    floor = m["floor"]
    base = "for-each-ref (all tags)"
    rows = [
        Row.of(section, "git for-each-ref (all tags)", floor, rss=False),
        Row.of(section, "git for-each-ref (one model)", m["floor-one"], rss=False),
        Row.of(section, CLICK_LABEL, m["import click"], rss=False),
        Row.of(section, "list --json", m["list"], floor, base, m.get("gto show")),
        Row.of(section, f"show {name}", m["show"], floor, base, m.get("gto show NAME")),
        Row.of(section, f"history {name}", m["history"], floor, base),
        Row.of(section, f"resolve {name}#production", m["resolve"], floor, base),
        Row.of(
            section,
            "promote NAME@v0.1.0 --to dev",
            m["promote"],
            floor,
            base,
            m.get("gto assign"),
        ),
        Row.of(section, "register (4 KiB file)", m["register"], floor, base),
        *([Row.of(section, SIDE_PROMOTE, m[SIDE_PROMOTE])] if SIDE_PROMOTE in m else []),
        Row.of(
            section,
            f"resolve {name}#production right after a promote",
            m["resolve after a promote"],
            floor,
            base,
        ),
    ]
    if shape.models >= 1000 and not args.loose_refs:
        rows += bench_loose(root, section, name, production, env, args.runs, mr, resolved)
    if not args.keep:
        for leftover in (root, work / f"remote-{shape}"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in (work / f"registry-{shape}-side-{SIDE}", work / f"remote-{shape}-side"):
            shutil.rmtree(leftover, ignore_errors=True)
    return rows


SIDE = Shape(10, 5)
PROMOTE = "promote NAME@v0.1.0 --to dev"
SIDE_PROMOTE = f"{PROMOTE}, in a 10x5 registry (same rounds)"
CLICK = [sys.executable, "-c", "import click"]
CLICK_LABEL = 'python -c "import click"'


def settle() -> None:
    """Wait until the refs were last changed longer ago than the state cache's racy
    window (a fingerprint younger than that is checked against git on every read:
    a change in the same tick of the file system's clock would not show in it)."""
    from modelreg.statecache import RACY_NS

    time.sleep(RACY_NS / 1e9 + 0.2)


def loosen(root: Path) -> int:
    """Write every packed tag as a loose ref too (what a registry that never ran
    ``git gc`` holds): git then reads a file per tag for any pattern under
    ``refs/tags/``."""
    out = subprocess.run(
        ["git", "-C", str(root), "for-each-ref", "--format=%(objectname) %(refname)", "refs/tags"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    count = 0
    for line in out.splitlines():
        oid, _, ref = line.partition(" ")
        path = root / ".git" / ref
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(oid + "\n")
            count += 1
    return count


def bench_loose(
    root: Path,
    section: str,
    name: str,
    production: str,
    env: dict[str, str],
    runs: int,
    mr: list[str],
    resolved: Callable[[str], None],
) -> list[Row]:
    """One model's reads with every tag a loose ref (issue 16: they must not degrade)."""
    count = loosen(root)
    print(f"  {section}: {count:,} loose refs", flush=True)
    os.sync()  # 12,000 new files written back before the clock starts, not during
    settle()
    every = [f"--format={FLOOR_FORMAT}"]
    specs = [
        Spec("floor", lambda _r: ["git", "for-each-ref", *every, "refs/tags"], root),
        Spec("import click", lambda _r: CLICK, root),
        Spec("show", lambda _r: [*mr, "show", name], root),
        Spec("history", lambda _r: [*mr, "history", name], root),
        Spec("resolve", lambda _r: [*mr, "resolve", f"{name}#production"], root, check=resolved),
    ]
    m = measure_all(specs, env, runs)
    floor = m["floor"]
    base = "for-each-ref (all tags)"
    loose = f"{section} loose refs"
    return [
        Row.of(loose, "git for-each-ref (all tags)", floor, rss=False),
        Row.of(loose, CLICK_LABEL, m["import click"], rss=False),
        Row.of(loose, f"show {name}", m["show"], floor, base),
        Row.of(loose, f"history {name}", m["history"], floor, base),
        Row.of(loose, f"resolve {name}#production", m["resolve"], floor, base),
    ]


def bench_help(work: Path, env: dict[str, str], runs: int, modelreg: list[str]) -> list[Row]:
    print("\n  start-up", flush=True)
    bare = [sys.executable, "-c", "import click"]
    m = measure_all(
        [
            Spec('python -c "import click"', lambda _r: bare, work),
            Spec("modelreg --help", lambda _r: [*modelreg, "--help"], work),
            Spec("import modelreg", lambda _r: [sys.executable, "-c", "import modelreg"], work),
        ],
        env,
        runs,
    )
    click = m['python -c "import click"']
    return [
        Row.of("start-up", 'python -c "import click"', click, rss=False),
        Row.of(
            "start-up", "modelreg --help", m["modelreg --help"], click, "import click", rss=False
        ),
        Row.of(
            "start-up",
            'python -c "import modelreg"',
            m["import modelreg"],
            click,
            "import click",
            rss=False,
        ),
    ]


# --- a big file -------------------------------------------------------------------------


def _sync(_run: int = 0) -> None:
    os.sync()  # earlier runs' dirty pages are written back before the clock starts


def make_big_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    chunk = 64 * MIB
    with open(path, "wb") as handle:
        for start in range(0, size, chunk):
            handle.write(os.urandom(min(chunk, size - start)))
    os.sync()


def bench_big(
    work: Path,
    env: dict[str, str],
    args: argparse.Namespace,
    modelreg: list[str],
    dvc: list[str] | None,
) -> list[Row]:
    """register and dvc add of one big file, each in a fresh repository per run,
    and get from a local-directory remote, beside md5sum and cp; interleaved."""
    size = int(args.big_file_gib * (1 << 30))
    label = f"{args.big_file_gib:g} GiB file"
    print(f"\n  {label} (DVC cache type: {args.cache_type or 'default'})", flush=True)
    base = work / "big"
    src = base / "src" / "model.bin"
    make_big_file(src, size)
    mr = [*modelreg, "-q"]

    def folder(name: str) -> Path:
        return base / name

    def reset(name: str) -> None:
        shutil.rmtree(folder(name), ignore_errors=True)
        folder(name).mkdir(parents=True)

    def cache_type(repo: Path) -> None:
        """The same DVC cache type in every repository (DVC's default unless asked)."""
        if args.cache_type:
            with open(repo / ".dvc" / "config", "a") as handle:
                handle.write(f"[cache]\n    type = {args.cache_type}\n")
            subprocess.run(["git", "-C", str(repo), "commit", "-qam", "cache type"], env=env)

    def registry(name: str, *, in_place: bool) -> None:
        reset(name)
        repo = folder(name) / "repo"
        subprocess.run(
            [*mr, "-C", str(repo), "init", "--remote", str(folder(name) / "remote")],
            check=True,
            env=env,
            capture_output=True,
        )
        cache_type(repo)
        if in_place:
            (repo / "models" / "big").mkdir(parents=True)
            shutil.copyfile(src, repo / "models" / "big" / "model.bin")
        _sync()

    def dvc_repo(_run: int) -> None:
        assert dvc is not None
        reset("dvc")
        repo = folder("dvc") / "repo"
        subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
        subprocess.run([*dvc, "init", "-q"], cwd=repo, check=True, env=env)
        cache_type(repo)
        shutil.copyfile(src, repo / "model.bin")
        _sync()

    # get: one registry whose object is only on its local-directory remote.
    reset("get")
    got_repo, remote = folder("get") / "repo", folder("get") / "remote"
    subprocess.run(["git", "init", "-q", "--bare", str(folder("get") / "origin.git")], env=env)
    subprocess.run(
        [*mr, "-C", str(got_repo), "init", "--remote", str(remote)],
        check=True,
        env=env,
        capture_output=True,
    )
    cache_type(got_repo)
    subprocess.run(
        ["git", "-C", str(got_repo), "remote", "add", "origin", str(folder("get") / "origin.git")],
        env=env,
    )
    subprocess.run(
        [*mr, "register", "big", str(src), "--push"],
        cwd=got_repo,
        check=True,
        env=env,
        capture_output=True,
    )
    shutil.rmtree(got_repo / ".dvc" / "cache", ignore_errors=True)
    stored = next(p for p in (remote / "files" / "md5").rglob("*") if p.is_file())
    out, copied = folder("get") / "out", folder("get") / "copy.bin"

    def clear(*paths: Path) -> Callable[[int], None]:
        def run(_run: int) -> None:
            for path in paths:
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
            _sync()

        return run

    reset("cp")
    specs = [
        Spec("md5sum", lambda _r: ["md5sum", str(src)], base, before=_sync),
        Spec(
            "cp",
            lambda _r: ["cp", str(src), str(folder("cp") / "copy.bin")],
            base,
            before=clear(folder("cp") / "copy.bin"),
        ),
    ]
    if dvc is not None:
        specs.append(
            Spec(
                "dvc add",
                lambda _r: [*dvc, "add", "-q", "model.bin"],
                folder("dvc") / "repo",
                before=dvc_repo,
            )
        )
    specs += [
        Spec(
            "register (outside)",
            lambda _r: [*mr, "register", "big", str(src)],
            folder("outside") / "repo",
            before=lambda _r: registry("outside", in_place=False),
        ),
        Spec(
            "register (in place)",
            lambda _r: [*mr, "register", "big", "models/big/model.bin"],
            folder("inplace") / "repo",
            before=lambda _r: registry("inplace", in_place=True),
        ),
        Spec(
            "get",
            lambda _r: [*mr, "get", "big@v0.1.0", "-o", str(out)],
            got_repo,
            before=clear(out),
        ),
        Spec(
            "cp (remote)", lambda _r: ["cp", str(stored), str(copied)], base, before=clear(copied)
        ),
    ]
    m = measure_all(specs, env, args.runs)
    floor = m["md5sum"].median + m["cp"].median
    rows = [
        Row.of(label, "md5sum", m["md5sum"], rss=False),
        Row.of(label, "cp", m["cp"], rss=False),
        Row(label, "md5sum + cp (floor)", floor),
    ]
    dvc_add = m.get("dvc add")
    if dvc_add is not None:
        rows.append(Row.of(label, "dvc add (file in the work tree)", dvc_add, rss=False))
    for key, what in (("register (outside)", "outside"), ("register (in place)", "in place")):
        command = f"register (file {what})"
        if dvc_add is not None:
            # A file outside the repository must be copied in before 'dvc add'.
            row = Row.of(label, command, m[key])
            if what == "outside":
                row.baseline = "cp + dvc add"
                row.baseline_seconds = m["cp"].median + dvc_add.median
            else:
                row.baseline, row.baseline_seconds = "dvc add", dvc_add.median
            rows.append(row)
        row = Row.of(label, command, m[key], rss=False)
        row.baseline, row.baseline_seconds = "md5sum + cp", floor
        rows.append(row)
    rows.append(
        Row.of(label, "get (from a local-directory remote)", m["get"], m["cp (remote)"], "cp")
    )
    if not args.keep:
        for name in ("cp", "dvc", "outside", "inplace", "get"):
            shutil.rmtree(folder(name), ignore_errors=True)
    return rows


# --- targets ----------------------------------------------------------------------------


@dataclass
class Target:
    figure: str
    target: str
    value: str
    holds: bool | None  # None: not measured in this run


def find_row(
    rows: Sequence[Row],
    section_start: str,
    command_start: str,
    baseline: str | None = None,
    *,
    exact: bool = False,
) -> Row | None:
    """The first row of that section and command (``exact``: that command, not one
    it begins), with that baseline if given."""
    for row in rows:
        command = row.command == command_start if exact else row.command.startswith(command_start)
        if (
            row.section.startswith(section_start)
            and command
            and (baseline is None or row.baseline == baseline)
        ):
            return row
    return None


def targets(rows: Sequence[Row], shapes: Sequence[Shape]) -> list[Target]:
    def find(
        section: str, command: str, baseline: str | None = None, *, exact: bool = False
    ) -> Row | None:
        return find_row(rows, section, command, baseline, exact=exact)

    out: list[Target] = []
    k = "1000x10 "
    listed = find(k, "list --json")
    if listed and listed.ratio is not None:
        faster = GTO_MEASURED_1000X10 / listed.seconds
        out.append(
            Target(
                "list --json at 1,000 x 10",
                "<= 10x for-each-ref; >= 500x faster than GTO's 345 s",
                f"{listed.ratio:.2f}x for-each-ref; {faster:.0f}x faster than 345 s",
                listed.ratio <= 10 and faster >= 500,
            )
        )
    else:
        out.append(Target("list --json at 1,000 x 10", "<= 10x for-each-ref", "-", None))
    for command in ("show", "resolve", "history"):
        row = find(k, command)
        out.append(
            Target(
                f"{command} at 1,000 x 10",
                "<= 10x for-each-ref",
                _x(row.ratio) if row else "-",
                (row.ratio <= 10) if row and row.ratio is not None else None,
            )
        )
    large, side = find(k, PROMOTE, exact=True), find(k, SIDE_PROMOTE)
    ratio = paired(large, side) if large and side else None
    out.append(
        Target(
            "promote at 1,000 x 10",
            "<= 2x promote at 10 x 5 (in the same rounds)",
            f"{ratio:.2f}x" if ratio is not None else "-",
            (ratio <= 2) if ratio is not None else None,
        )
    )
    helped = find("start-up", "modelreg --help")
    out.append(
        Target(
            "modelreg --help",
            '<= 3x python -c "import click"',
            _x(helped.ratio) if helped else "-",
            (helped.ratio <= 3) if helped and helped.ratio is not None else None,
        )
    )
    huge = find("10000x10 ", "list --json")
    if huge and listed:
        growth = huge.seconds / listed.seconds
        tag_growth = 120_000 / 12_000
        out.append(
            Target(
                "list --json at 10,000 x 10",
                "completes; grows no worse than linearly from 1,000 x 10",
                f"{_fmt(huge.seconds)}: {growth:.1f}x the time for {tag_growth:.0f}x the tags",
                growth <= tag_growth,
            )
        )
        out.append(
            Target(
                "peak memory of list at 10,000 x 10",
                "<= 200 MB",
                f"{huge.max_rss_mb:.0f} MB",
                (huge.max_rss_mb or 0) <= 200,
            )
        )
    else:
        out.append(Target("list --json at 10,000 x 10", "completes, ~linear", "-", None))
        out.append(Target("peak memory of list at 10,000 x 10", "<= 200 MB", "-", None))
    for what, dvc_way in (("outside", "cp + dvc add"), ("in place", "dvc add")):
        by_dvc = find("", f"register (file {what})", dvc_way)
        by_floor = find("", f"register (file {what})", "md5sum + cp")
        if by_dvc and by_floor and by_dvc.ratio is not None and by_floor.ratio is not None:
            out.append(
                Target(
                    f"register of a big file (file {what})",
                    f"<= 1.1x {dvc_way} and <= 1.6x md5sum + cp",
                    f"{by_dvc.ratio:.2f}x {dvc_way}; {by_floor.ratio:.2f}x md5sum + cp",
                    by_dvc.ratio <= 1.1 and by_floor.ratio <= 1.6,
                )
            )
        else:
            out.append(
                Target(f"register of a big file (file {what})", "<= 1.1x dvc add", "-", None)
            )
    got = find("", "get (from a local-directory remote)")
    out.append(
        Target(
            "get of a big file from a local-directory remote",
            "<= 1.5x cp",
            _x(got.ratio) if got else "-",
            (got.ratio <= 1.5) if got and got.ratio is not None else None,
        )
    )
    return out + issue16_targets(rows)


def issue16_targets(rows: Sequence[Row]) -> list[Target]:
    """Issue 16's targets: reads at the floor at every size, writes that do not grow."""

    def find(section: str, command: str, *, exact: bool = False) -> Row | None:
        return find_row(rows, section, command, exact=exact)

    out: list[Target] = []
    for size, label, most in (("1000x10 ", "1,000 x 10", 4.0), ("10000x10 ", "10,000 x 10", 3.0)):
        row = find(size, "list --json")
        out.append(
            Target(
                f"list --json at {label} (issue 16)",
                f"<= {most:g}x for-each-ref",
                _x(row.ratio) if row else "-",
                (row.ratio <= most) if row and row.ratio is not None else None,
            )
        )
    # Each read against `import click` in the same rounds of its own section: per
    # round, the read's time over its limit; the median of those is the verdict.
    clicks = {r.section: r for r in rows if r.command == CLICK_LABEL}
    reads = []
    for r in rows:
        click = clicks.get(r.section)
        if (
            click is not None
            and r.command.split(" ")[0] in ("show", "history", "resolve")
            and "right after" not in r.command  # reported apart: the read that re-checks git
        ):
            limit = [max(0.060, 1.5 * c) for c in click.samples]
            limits = Row(r.section, "limit", 0, samples=limit)
            reads.append((r, paired(r, limits)))
    measured = [(r, share) for r, share in reads if share is not None]
    worst = max(measured, key=lambda pair: pair[1], default=None)
    out.append(
        Target(
            "show, history, resolve at every size, loose refs too (issue 16)",
            '<= max(60 ms, 1.5x python -c "import click" in the same round), median of rounds',
            f"closest {worst[1]:.2f} of the limit ({worst[0].section}: "
            f"{worst[0].command.split(' ')[0]}, {_fmt(worst[0].seconds)})"
            if worst
            else "-",
            all(share <= 1 for _r, share in measured) if measured else None,
        )
    )
    huge = find("10000x10 ", PROMOTE, exact=True)
    side = find("10000x10 ", SIDE_PROMOTE)
    ratio = paired(huge, side) if huge and side else None
    out.append(
        Target(
            "promote at 10,000 x 10 (issue 16)",
            "<= 1.2x promote at 10 x 5 (in the same rounds)",
            f"{ratio:.2f}x" if ratio is not None else "-",
            (ratio <= 1.2) if ratio is not None else None,
        )
    )
    for size in ("10x5 ", "1000x10 ", "10000x10 "):
        registered, promoted = find(size, "register (4 KiB"), find(size, PROMOTE, exact=True)
        ratio = paired(registered, promoted) if registered and promoted else None
        if ratio is not None:
            out.append(
                Target(
                    f"register of 4 KiB at {size.strip()} (issue 16)",
                    "<= 2x promote at the same size (in the same rounds)",
                    f"{ratio:.2f}x",
                    ratio <= 2,
                )
            )
    for command in ("modelreg --help", 'python -c "import modelreg"'):
        row = find("start-up", command)
        out.append(
            Target(
                f"{command} (issue 16: reported)",
                'against python -c "import click"',
                _x(row.ratio) if row else "-",
                None if row is None else True,
            )
        )
    return out


# --- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        default="10x5,100x10,1000x10",
        help="registries to build, MODELSxVERSIONS, comma-separated (default: %(default)s)",
    )
    parser.add_argument("--huge", action="store_true", help="also 10000x10 (120,000 tags)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--skip-gto", action="store_true", help="do not time GTO")
    parser.add_argument(
        "--gto-max",
        default="100x10",
        help="largest registry GTO is timed on (default %(default)s; GTO took 345 s "
        "per 'gto show' at 1000x10)",
    )
    parser.add_argument(
        "--big-file-gib",
        type=float,
        default=1.0,
        help="size of the big file for register/get, in GiB (0: skip; default 1)",
    )
    parser.add_argument(
        "--cache-type",
        help="DVC cache.type for both modelreg's and dvc's repositories (default: DVC's)",
    )
    parser.add_argument(
        "--loose-refs",
        action="store_true",
        help="leave the generated tags as loose refs (default: packed, as in a clone)",
    )
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the registries afterwards")
    parser.add_argument("--out", type=Path, help="JSON file to write (default: results/<time>)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    shapes = [Shape.parse(s) for s in args.sizes.split(",") if s.strip()]  # "": none
    if args.huge and Shape(10_000, 10) not in shapes:
        shapes.append(Shape(10_000, 10))
    Shape.parse(args.gto_max)

    modelreg = tool("modelreg") or [sys.executable, "-m", "modelreg"]
    gto, dvc = tool("gto"), tool("dvc")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="modelreg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = isolated_env(work / "home")
    info = machine(work)
    started = dt.datetime.now(dt.UTC)
    print(
        f"modelreg benchmarks: {info['nproc']} CPU(s) {info['cpu']}, {info['memory']}, "
        f"{info['filesystem']} at {work}\n  {info['git']}, Python {info['python']}, "
        f"{info['dvc']}, GTO {info['gto']}; median of {args.runs} runs after a warm-up",
        flush=True,
    )
    if info["returns_free_memory"]:
        print(f"  note: {MEMORY_NOTE}", flush=True)
    rows: list[Row] = []
    try:
        rows += bench_help(work, env, args.runs, modelreg)
        for shape in shapes:
            rows += bench_size(shape, work, env, args, modelreg, gto)
        if args.big_file_gib > 0:
            rows += bench_big(work, env, args, modelreg, dvc)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()
    goals = targets(rows, shapes)
    cells = table(rows)
    print("\n" + plain(cells))
    print("\nTargets:")
    for goal in goals:
        verdict = {True: "holds", False: "FAILS", None: "not measured"}[goal.holds]
        print(f"  {verdict:<12} {goal.figure}: {goal.value} (target {goal.target})")

    command = shlex.join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    report = {
        "command": command.strip(),
        "started": started.isoformat(timespec="seconds"),
        "machine": info,
        "runs": args.runs,
        "rows": [{**asdict(r), "ratio": r.ratio, "gto_ratio": r.gto_ratio} for r in rows],
        "targets": [asdict(g) for g in goals],
    }
    out = args.out or RESULTS / f"{started.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    md = [
        f"`{report['command']}` on {info['nproc']} CPU(s) {info['cpu']}, {info['memory']}, "
        f"{info['filesystem']}; {info['git']}, Python {info['python']}, DVC {info['dvc']}, "
        f"GTO {info['gto']}; median of {args.runs} runs after a warm-up.",
        *(["", f"Note: {MEMORY_NOTE}"] if info["returns_free_memory"] else []),
        "",
        markdown(cells),
        "",
        markdown(
            [["figure", "target", "measured", "verdict"]]
            + [
                [
                    g.figure,
                    g.target,
                    g.value,
                    {True: "holds", False: "fails", None: "not measured"}[g.holds],
                ]
                for g in goals
            ]
        ),
    ]
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print(f"\nwrote {out} and {out.with_suffix('.md').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
