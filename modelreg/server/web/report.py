"""``modelreg report -o DIR``: the web page's pages as static files.

The same views and templates as the server, with :class:`.links.ReportLinks`:
every link is relative, so the folder works opened from disk (``file://``) and
published as is to GitHub or GitLab Pages. What needs a server is left out or
replaced: the home page's filters run in the browser (``static/app.js`` reads
the same query parameters the server takes), a diff page exists for each pair
of neighbouring versions and any other two are compared on the model's page in
the browser (it carries each version's side of a diff, :func:`.views.compare_sides`:
linear in the versions, where a page per pair would be quadratic), and files are
fetched with ``modelreg get`` instead of a download link.

Nothing is imported from the web framework: only Jinja2 and the library.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

from ...errors import ModelregError
from ...paths import inside
from ...registry import Registry
from ...results import ReportWritten
from . import pages, views
from .links import ReportLinks

MARKER = ".modelreg-report"
"""A file the report leaves in its folder, so writing it again may replace it."""

_OURS = ("index.html", "m", "diff", "static", MARKER)


def _prepare(out: Path) -> None:
    """An empty folder, or one a previous report wrote (whose pages are replaced)."""
    if out.exists() and not out.is_dir():
        raise ModelregError(f"{out} is a file", hint="name a folder for the report")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise ModelregError(
                f"{out} is not empty and holds no earlier report",
                hint="name an empty or new folder (the report writes index.html, m/, diff/)",
            )
        for name in _OURS:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def write_report(
    registry: Registry, out: Path, *, on_page: Callable[[str], None] | None = None
) -> ReportWritten:
    """Every page of ``registry`` under ``out``: the models, each model, each active
    version, and the diff of each pair of neighbouring versions."""
    _prepare(out)
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    written: list[str] = []

    def write(
        path: str, template: str, diffs: frozenset[tuple[str, str, str]], **data: object
    ) -> None:
        html = pages.render(template, ReportLinks(path, diffs), generated=generated, **data)
        target = inside(out, path, "report page")  # model names come from git
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        written.append(path)
        if on_page is not None:
            on_page(path)

    home = views.home(registry, None)
    models = [row["name"] for group in home["groups"] for row in group["models"]]
    model_pages = {name: views.model(registry, name) for name in models}
    diffs = frozenset((name, a, b) for name, page in model_pages.items() for a, b in page["pairs"])
    write("index.html", "home.html", diffs, **home)
    for name, page in model_pages.items():
        write(ReportLinks.model_file(name), "model.html", diffs, **page)
        for row in page["versions"]:
            if row["active"]:
                version = row["version"]
                path = ReportLinks.version_file(name, version)
                try:
                    data = views.version(registry, f"{name}@v{version}")
                except ModelregError as exc:  # a broken manifest: say so on its page
                    write(path, "error.html", diffs, **_error(exc))
                else:
                    write(path, "version.html", diffs, **data)
        for a, b in page["pairs"]:
            path = ReportLinks.diff_file(name, a, b)
            try:
                data = views.diff(registry, f"{name}@v{a}", f"{name}@v{b}")
            except ModelregError as exc:  # a version another tool registered
                write(path, "error.html", diffs, **_error(exc))
            else:
                write(path, "diff.html", diffs, **data)
    shutil.copytree(pages.STATIC, out / "static")
    (out / MARKER).write_text("written by modelreg report; may be replaced by it\n")
    return ReportWritten(out, len(written), len(models))


def _error(exc: ModelregError) -> dict[str, object]:
    return {"title": "Not shown", "message": exc.message, "hint": exc.hint}
