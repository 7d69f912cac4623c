"""The only module that prints: Rich tables and text for people, JSON for programs.

JSON documents come from :mod:`modelreg.serialize` (the one place that shapes
them, for the HTTP face too); this module only prints them. Rich loads on the
first table or styled line, so JSON output and plain answers (``resolve``) never
pay for importing it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import serialize

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from .check import CheckReport
    from .deps import Dependent, Node, Tree
    from .diff import Change, VersionDiff
    from .results import (
        CheckoutResult,
        DoctorReport,
        EventResult,
        GetResult,
        HistoryEntry,
        ImportResult,
        InitResult,
        ModelSummary,
        Published,
        RegisterResult,
        ReportWritten,
        Resolved,
        SyncResult,
        VersionInfo,
    )
    from .storage import RemoteSettings
    from .tokens import Token
    from .verify import VerifyReport

PROGRESS_THRESHOLD = 4 * 1024 * 1024  # bars only for files bigger than a few MB


class _LazyConsole:
    """A Rich console for stdout or stderr, made (and Rich imported) on first use."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            # On a terminal Rich fits tables to the window; piped output is never wrapped.
            stream = sys.stderr if self._stderr else sys.stdout
            width = None if stream.isatty() else 10_000
            self._console = Console(
                stderr=self._stderr, highlight=False, soft_wrap=True, width=width
            )
        return self._console

    def print(self, *objects: Any, **options: Any) -> None:
        self.get().print(*objects, **options)


out = _LazyConsole(stderr=False)
err = _LazyConsole(stderr=True)


# C0 and C1 control characters (ESC among them) and DEL: a description, reason or
# name read from git could otherwise drive the terminal (clear it, retitle it,
# rewrite earlier lines). People see them as escapes; JSON keeps the text exactly.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED_CONTROL = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def visible(text: str) -> str:
    """Text with every control character shown as an escape (ESC as ``\\x1b``)."""
    return _CONTROL.sub(lambda m: _NAMED_CONTROL.get(m[0], f"\\x{ord(m[0]):02x}"), text)


def escape(text: str) -> str:
    """Text shown as it is inside Rich markup (``[`` is not a style), with control
    characters made visible (:func:`visible`)."""
    from rich.markup import escape as rich_escape

    return rich_escape(visible(text))


def _table() -> Table:
    from rich.table import Table

    return Table(box=None, pad_edge=False, header_style="bold")


def _print_table(table: Table) -> None:
    """Print a table without the padding Rich leaves after the last column."""
    console = out.get()
    with console.capture() as captured:
        console.print(table)
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    console.file.write(text + "\n")
    console.file.flush()


# A cell of a table or a line: plain text (shown as it is, control characters made
# visible), or parts of text each with a Rich style ("": none).
Part = tuple[str, str]
Cell = str | list[Part]


def _parts(cell: Cell) -> list[Part]:
    return [(cell, "")] if isinstance(cell, str) else cell


def _plain() -> bool:
    """Whether stdout gets plain text: piped, where Rich prints no styles and never
    wraps (its console is 10,000 columns wide there), unless the environment asks
    Rich for a terminal's output anyway. The reads' tables and lines are then laid
    out here, without importing Rich (~20 ms of a ~60 ms read), unless this process
    has Rich's console already."""
    forced = any(os.environ.get(k) for k in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"))
    return not forced and out._console is None and not sys.stdout.isatty()


def _width(text: str) -> int:
    """The terminal cells ``text`` takes, as Rich counts them (wide characters: 2).
    "…", the one non-ASCII character modelreg itself puts in a table, is one."""
    if text.isascii() or text.replace("…", "").isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _line(parts: list[Part]) -> None:
    """One line of styled parts (no markup: the text is shown as it is)."""
    if _plain():
        sys.stdout.write("".join(visible(text) for text, _style in parts) + "\n")
        return
    from rich.text import Text

    out.print(Text.assemble(*((visible(text), style) for text, style in parts)))


class _Columns:
    """A table without lines, as Rich prints ``Table(box=None, pad_edge=False)``:
    columns two spaces apart, the header (if any) bold, no padding after the last
    column. Piped (:func:`_plain`) the same text is laid out here, without Rich;
    ``tests/test_render.py`` checks that both print the same."""

    def __init__(self, *, header: bool = True) -> None:
        self.header = header
        self.headers: list[str] = []
        self.right: list[bool] = []
        self.styles: list[str] = []
        self.rows: list[list[list[Part]]] = []

    def column(self, header: str = "", *, right: bool = False, style: str = "") -> None:
        self.headers.append(header)
        self.right.append(right)
        self.styles.append(style)

    def row(self, *cells: Cell) -> None:
        self.rows.append([_parts(cell) for cell in cells])

    def print(self) -> None:
        if _plain():
            sys.stdout.write("".join(line + "\n" for line in self.lines()))
            sys.stdout.flush()
        else:
            _print_table(self.rich())

    def rich(self) -> Table:
        """The table as Rich's (for a terminal: styled, fitted to its width)."""
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, pad_edge=False, header_style="bold", show_header=self.header)
        for header, right, style in zip(self.headers, self.right, self.styles, strict=True):
            table.add_column(header, justify="right" if right else "left", style=style or None)
        for row in self.rows:
            table.add_row(*(Text.assemble(*((visible(t), s) for t, s in c)) for c in row))
        return table

    def lines(self) -> list[str]:
        """The table as plain text, one string a line."""
        rows = [["".join(visible(t) for t, _s in cell) for cell in row] for row in self.rows]
        if self.header:
            rows.insert(0, list(self.headers))
        widths = [max((_width(r[i]) for r in rows), default=0) for i in range(len(self.headers))]
        lines = []
        for r in rows:
            cells = []
            for text, width, right in zip(r, widths, self.right, strict=True):
                if right:  # as Rich justifies right: trailing spaces go, then pad
                    text = text.rstrip()
                if width == 0:  # Rich crops a cell to its column: nothing of it shows
                    text = ""
                pad = " " * (width - _width(text))
                cells.append(pad + text if right else text + pad)
            lines.append("  ".join(cells).rstrip())
        return lines


def _json(document: dict[str, Any]) -> None:
    sys.stdout.write(serialize.dumps(document) + "\n")


def _v(version: str | None) -> str:
    if version is None:
        return "-"
    return f"v{version}" if version[:1].isdigit() else version[:8]


# --- reads -------------------------------------------------------------------


def models(summaries: Sequence[ModelSummary], stage_order: Sequence[str], as_json: bool) -> None:
    if as_json:
        _json(serialize.models(summaries))
        return
    if not summaries:
        err.print("No models registered yet. Register one with: modelreg register NAME PATH")
        return
    seen = {stage for s in summaries for stage in s.stages}
    stages = [s for s in stage_order if s in seen or s in stage_order] + sorted(
        seen - set(stage_order)
    )
    table = _Columns()
    table.column("model")
    table.column("latest")
    for stage in stages:
        table.column(f"#{stage}")
    table.column("versions", right=True)
    for s in summaries:
        name = [(s.name, ""), (" (deprecated)", "dim")] if s.deprecated else s.name
        table.row(
            name,
            _v(s.latest),
            *[_v(s.stages.get(stage)) for stage in stages],
            str(s.versions),
        )
    table.print()


def version(info: VersionInfo, as_json: bool) -> None:
    if as_json:
        _json(serialize.version_info(info))
        return
    head: list[Part] = [(info.name, "bold"), (f" {_v(info.version)}", "")]
    if info.stages:
        head.append(("  ", ""))
        for n, stage in enumerate(info.stages):
            head += [(" ", "")] if n else []
            head.append((f"#{stage}", "green"))
    for n, status in enumerate(
        s
        for s, shown in (("model deprecated", info.deprecated), ("deregistered", not info.active))
        if shown
    ):
        head += [("  " if n == 0 else " ", ""), (status, "yellow")]
    _line(head)
    rows: list[tuple[str, str]] = [
        ("tag", info.tag or "-"),
        ("commit", info.commit[:12]),
        ("registered", f"{serialize.iso_time(info.registered_at) or '-'} by {info.author or '-'}"),
    ]
    m = info.manifest
    if m is not None:
        for key in ("description", "author", "license", "framework"):
            value = getattr(m, key)
            if value and not (key == "author" and value == info.author):
                rows.append((key, value))
        if m.labels:
            rows.append(("labels", ", ".join(f"{k}={v}" for k, v in m.labels.items())))
        if m.metrics:
            rows.append(("metrics", ", ".join(f"{k}={v}" for k, v in m.metrics.items())))
        if m.params:
            rows.append(("params", ", ".join(f"{k}={v}" for k, v in m.params.items())))
        if m.dependencies:
            rows.append(("depends on", ", ".join(f"{d.name} {d.version}" for d in m.dependencies)))
        if m.lineage and m.lineage.code_commit:
            rows.append(("code", m.lineage.code_commit))
        for ref in m.lineage.data if m.lineage else ():
            rows.append(("data", f"{ref.path} {('md5 ' + ref.md5) if ref.md5 else ''}".strip()))
        rows.append(("created", m.created))
        rows.append(("manifest", f"sha256 {info.manifest_sha256}"))
    elif info.manifest_of is not None:
        rows.append(("manifest", f"none: the one at this commit is for {info.manifest_of}"))
    else:
        rows.append(("manifest", "none (registered without modelreg)"))
    for place in info.published:
        rows.append(("published", f"{place.reference} ({place.digest[:19]}…)"))
    grid = _Columns(header=False)
    grid.column(style="dim")
    grid.column()
    for key, value in rows:
        grid.row(key, str(value))
    grid.print()
    if m is not None and m.artifacts:
        files = _Columns()
        files.column("file")
        files.column("size", right=True)
        files.column("sha256")
        for a in m.artifacts:
            files.row(a.path, human_size(a.size), a.sha256[:16] + "…")
        files.print()


def history(entries: Sequence[HistoryEntry], as_json: bool) -> None:
    if as_json:
        _json(serialize.history(entries))
        return
    if not entries:
        err.print("No events yet.")
        return
    table = _Columns()
    for column in ("time", "model", "event", "version", "stage", "who", "reason"):
        table.column(column)
    for e in entries:
        table.row(
            serialize.iso_time(e.timestamp) or "-",
            e.name,
            e.event,
            _v(e.version),
            e.stage or "-",
            e.author,
            e.reason or "",
        )
    table.print()


def resolved(result: Resolved, as_json: bool) -> None:
    if as_json:
        _json(serialize.resolved(result))
    else:
        sys.stdout.write(result.version + "\n")


# --- writes ------------------------------------------------------------------


def init_result(result: InitResult, as_json: bool = False) -> None:
    if as_json:
        _json(serialize.init_result(result))
        return
    if result.git_initialised:
        out.print(f"Initialised an empty git repository in {escape(str(result.root))}")
    for path in result.created:
        out.print(f"created {escape(str(path))}")
    if result.remote_url:
        out.print(f"DVC remote '{result.remote_name}': {escape(result.remote_url)}")
    if result.commit:
        out.print(f"committed the registry set-up ({result.commit[:8]})")
    else:
        out.print("the registry was already set up; nothing to commit")
    out.print("Next: modelreg register NAME PATH")


def registered(result: RegisterResult, as_json: bool = False) -> None:
    if as_json:
        _json(serialize.register_result(result))
        return
    files = len(result.manifest.artifacts)
    size = human_size(result.manifest.total_size)
    plural = "s" if files != 1 else ""
    _line(
        [
            ("Registered ", ""),
            (result.name, "bold"),
            (f" v{result.version} ({files} file{plural}, {size}) as tag {result.tag}", ""),
        ]
    )
    if result.pushed:
        _line([("pushed the files, the commit and the tag", "")])


def event(result: EventResult, as_json: bool = False) -> None:
    for note in result.notes:
        err.print(escape(note))
    if as_json:
        _json(serialize.event_result(result))  # nothing done: "changed": false, "tag": null
        return
    if not result.changed or result.tag is None:
        return
    v = result.version
    if result.event == "assign":
        before = f" (was {_v(result.previous)})" if result.previous else ""
        text = f"Promoted {result.name} v{v} to {result.stage}{before}: tag {result.tag}"
    elif result.event == "rollback":
        text = (
            f"Rolled back {result.name} {result.stage} from {_v(result.previous)} "
            f"to v{v}: tag {result.tag}"
        )
    elif result.event == "deregister":
        text = f"Deregistered {result.name} v{v}: tag {result.tag}"
    else:
        text = f"Deprecated {result.name}: tag {result.tag}"
    _line([(text, "")])  # plain text: no Rich to import for one line
    if result.pushed:
        _line([("pushed the tag", "")])


def files_written(result: GetResult | CheckoutResult, verb: str, as_json: bool = False) -> None:
    if as_json:
        _json(serialize.files_written(result))
        return
    total = sum(f.size for f in result.files)
    out.print(
        f"{verb} {escape(result.name)} v{result.version}: {len(result.files)} file(s), "
        f"{human_size(total)}, sha256 verified, in {escape(str(result.directory))}"
    )
    for f in result.files:
        out.print(f"  {escape(f.path)}  {human_size(f.size)}  sha256 {f.sha256[:16]}…")


def published(result: Published, as_json: bool = False) -> None:
    if as_json:
        _json(serialize.published(result))
        return
    out.print(
        f"Published {escape(result.name)} v{result.version}: {human_size(result.size)} "
        f"({result.blobs_pushed} file(s) sent, {result.blobs_present} already there), "
        f"manifest {result.digest}"
    )
    for reference in result.references:
        out.print(f"  {escape(reference)}")


def synced(result: SyncResult, verb: str, as_json: bool = False) -> None:
    for note in result.notes:
        err.print(escape(note))
    if as_json:
        _json(serialize.sync_result(result))
        return
    what = "sent" if verb == "push" else "received"
    out.print(
        f"{verb}: {result.tags} new tag(s) {what}, {result.objects} file(s) transferred "
        f"(git remote '{result.remote}'{', branch ' + result.branch if result.branch else ''})"
    )


def report_written(result: ReportWritten, as_json: bool = False) -> None:
    if as_json:
        _json(serialize.report_written(result))
        return
    out.print(
        f"Wrote {result.pages} page(s) for {result.models} model(s) to "
        f"{escape(str(result.directory))} (open index.html)"
    )


def imported(result: ImportResult, as_json: bool = False) -> None:
    for note in result.notes:
        err.print(escape(note))
    if as_json:
        _json(serialize.import_result(result))
        return
    for step in result.steps:
        what = {"register": "Registered", "assign": "Promoted", "deregister": "Deregistered"}
        to = f" to {step.stage}" if step.stage else ""
        out.print(
            f"{what.get(step.event, step.event)} {escape(step.name)} v{step.version}{to} "
            f"(MLflow version {step.mlflow_version})"
        )
    skipped = f"; {result.skipped} version(s) were imported before" if result.skipped else ""
    out.print(f"Imported {len(result.steps)} event(s) from {escape(result.source)}{skipped}")


def warning(message: str) -> None:
    err.print(f"[yellow]{escape(message)}[/]")


def error(message: str, hint: str | None) -> None:
    text = f"modelreg: error: {message}"
    if hint:
        text += f" (hint: {hint})"
    sys.stderr.write(visible(" ".join(text.split())) + "\n")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


# --- progress ----------------------------------------------------------------


class _Bar:
    # A plain class: a dataclass costs ~0.4 ms of every command's start-up.
    def __init__(self, progress: Any, task_id: Any) -> None:
        self.progress, self.task_id = progress, task_id

    def advance(self, amount: int) -> None:
        self.progress.update(self.task_id, advance=amount)


class _Silent:
    def advance(self, amount: int) -> None:
        pass


class RichProgress:
    """Progress bars on stderr, for transfers of more than a few MB, on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[_Bar | _Silent]:
        if not self.enabled or total < PROGRESS_THRESHOLD or not err.get().is_terminal:
            yield _Silent()
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err.get(),
            transient=True,
        ) as progress:
            yield _Bar(progress, progress.add_task(escape(description), total=total))


# --- dependencies, check, diff -------------------------------------------------


def dependency_tree(tree: Tree, as_json: bool) -> None:
    if as_json:
        _json(serialize.tree(tree))
        return
    from rich.tree import Tree as RichTree

    from .deps import Status

    root = tree.root
    title = f"[bold]{escape(root.name)}[/] {_v(root.version)}"
    if tree.stage:
        title += f"  (dependencies as held by [green]#{escape(tree.stage)}[/])"
    shown = RichTree(title)

    def add(parent: Any, node: Node) -> None:
        if node.status is Status.OK:
            label = f"{escape(node.name)} {escape(node.range or '')} → {_v(node.version)}"
        else:
            label = (
                f"[red]{escape(node.name)} {escape(node.range or '')} ✗ "
                f"{escape(node.detail or str(node.status))}[/]"
            )
        branch = parent.add(label)
        for child in node.children:
            add(branch, child)

    for child in root.children:
        add(shown, child)
    out.print(shown)
    if not root.children:
        out.print("  (no dependencies)")
    for conflict in tree.conflicts:
        wants = ", ".join(f"{by} wants {rng}" for by, rng in conflict.wanted)
        out.print(f"[red]conflict[/]: {escape(conflict.name)}: {escape(wants)}")
    for cycle in tree.cycles:
        out.print(f"[red]cycle[/]: {escape(' -> '.join(cycle))}")


def dependents(name: str, stage: str | None, found: Sequence[Dependent], as_json: bool) -> None:
    if as_json:
        _json(serialize.dependents(name, stage, found))
        return
    if not found:
        out.print(f"No registered version depends on {escape(name)}.")
        return
    table = _table()
    for column in (
        "model",
        "version",
        "needs",
        "holds",
        f"satisfied by{' #' + stage if stage else ''}",
    ):
        table.add_column(escape(column))
    for d in found:
        table.add_row(
            escape(d.name),
            _v(d.version),
            escape(f"{name} {d.range}"),
            " ".join(f"#{s}" for s in d.stages) or "-",
            _v(d.satisfied_by) if d.satisfied_by else "[red]✗ nothing[/]",
        )
    _print_table(table)


def check_report(report: CheckReport, as_json: bool) -> None:
    if as_json:
        _json(serialize.check_report(report))
        return
    for problem in report.problems:
        sys.stdout.write(f"{visible(str(problem))}\n")
    if report.ok:
        out.print(f"checked {len(report.checked)} file(s): no problems")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _delta(change: Change) -> str:
    if change.delta is None or change.status == "same":
        return ""
    text = f"{change.delta:+g}"
    if isinstance(change.old, int | float) and change.old:
        text += f" ({change.delta / abs(change.old):+.1%})"
    return text


def version_diff(result: VersionDiff, as_json: bool, markdown: bool) -> None:
    a = f"{result.name_a} v{result.version_a}"
    b = f"{result.name_b} v{result.version_b}"
    if as_json:
        _json(serialize.version_diff(result))
        return
    rows = [
        (f"{c.section}.{c.key}" if c.section != "metadata" else c.key, c)
        for c in result.changes
        if c.status != "same" or c.section == "metrics"
    ]
    if markdown:
        lines = [f"### {a} → {b}", "", f"| | {a} | {b} | change |", "|---|---|---|---|"]
        for key, c in rows:
            lines.append(f"| `{key}` | {_cell(c.old)} | {_cell(c.new)} | {_delta(c) or c.status} |")
        for f in result.files:
            sizes = f"{human_size(f.old_size) if f.old_size is not None else '-'} | "
            sizes += f"{human_size(f.new_size) if f.new_size is not None else '-'}"
            lines.append(f"| file `{f.path}` | {sizes} | {f.status} |")
        sys.stdout.write("\n".join(visible(line) for line in lines) + "\n")
        return
    out.print(f"[bold]{escape(a)}[/] → [bold]{escape(b)}[/]")
    table = _table()
    for column in ("", a, b, "change"):
        table.add_column(escape(column))
    for key, c in rows:
        table.add_row(
            escape(key), escape(_cell(c.old)), escape(_cell(c.new)), _delta(c) or c.status
        )
    for f in result.files:
        table.add_row(
            escape(f"file {f.path}"),
            human_size(f.old_size) if f.old_size is not None else "-",
            human_size(f.new_size) if f.new_size is not None else "-",
            f.status + (" (sha256 differs)" if f.status == "changed" else ""),
        )
    _print_table(table)
    if result.identical:
        out.print("identical")


def verify_report(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        _json(serialize.verify_report(report))
        return
    for finding in report.findings:
        sys.stdout.write(f"{visible(str(finding))}\n")
    if report.ok:
        out.print(
            f"verified {report.tags} tag(s), {report.versions} version(s), "
            f"{report.files} file copies: no findings"
        )


def doctor_report(report: DoctorReport, as_json: bool) -> None:
    if as_json:
        _json(serialize.doctor_report(report))
        return
    for f in report.findings:
        mark = "repaired" if f.repaired else "found"
        sys.stdout.write(visible(f"{mark}: {f.path}: {f.message}") + "\n")
    if not report.findings:
        out.print("the registry is consistent: nothing half-finished")


def remotes(found: Sequence[RemoteSettings], as_json: bool) -> None:
    if as_json:
        _json(serialize.remotes(found))
        return
    if not found:
        out.print("No DVC remote. Add one with: modelreg remote add NAME URL --default")
        return
    table = _table()
    for column in ("remote", "url", "options", "local (values hidden)"):
        table.add_column(column)
    for r in found:
        table.add_row(
            escape(r.name + (" (default)" if r.default else "")),
            escape(r.url),
            escape(", ".join(f"{k}={v}" for k, v in r.options.items()) or "-"),
            escape(", ".join(f"{k}=***" for k in r.local_keys) or "-"),
        )
    _print_table(table)


def token_added(found: Token, secret: str) -> None:
    """The secret, once: the last word of the one line on stdout (the notes go to
    stderr), so ``$(modelreg token add ... | awk '{print $NF}')`` takes it."""
    email = f" <{found.email}>" if found.email else ""
    err.print(
        f"Added token {escape(found.name)}{escape(email)} ({found.role}). "
        "Its secret is shown only this once: keep it now."
    )
    sys.stdout.write(f"token {found.name} ({found.role}): {secret}\n")


def token_removed(found: Token) -> None:
    _line([(f"Removed token {found.name} ({found.role}): its secret is refused from now on", "")])


def tokens(found: Sequence[Token], as_json: bool) -> None:
    if as_json:
        _json(serialize.tokens(found))
        return
    if not found:
        out.print("No token: the server serves everyone, on loopback only.")
        out.print("Add one with: modelreg token add NAME --role read|write")
        return
    table = _table()
    for column in ("token", "role", "email", "added"):
        table.add_column(column)
    for t in found:
        table.add_row(
            escape(t.name), t.role, escape(t.email or "-"), serialize.iso_time(t.created) or "-"
        )
    _print_table(table)
