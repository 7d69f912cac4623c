"""Templates → HTML: one Jinja2 environment, autoescaped, loaded once per process.

A page is rendered from a :mod:`.views` document and a :class:`.links.Links`
that says where every other page is, so the server and the report share every
template.
"""

from __future__ import annotations

import functools
import shlex
from pathlib import Path
from typing import Any

import jinja2

from . import charts
from .links import Links

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def size(n: int | None) -> str:
    """Bytes for people: ``1.4 MB``."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def when(iso: str | None) -> str:
    """``2026-11-22T16:35:32Z`` → ``2026-11-22 16:35 UTC``."""
    if not iso:
        return ""
    return iso.replace("T", " ")[:16] + " UTC"


def delta(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:+.4g}"
    return f"{value:+}" if isinstance(value, int) else str(value)


def shell(*words: str) -> str:
    return " ".join(shlex.quote(w) for w in words)


def ident(text: str) -> str:
    """An HTML id from a metric's name."""
    return "m-" + "".join(c if c.isalnum() else "-" for c in text)


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(size=size, when=when, delta=delta, ident=ident)
    env.globals.update(chart=charts.line_chart, shell=shell)
    return env


def render(template: str, links: Links, **context: Any) -> str:
    return environment().get_template(template).render(links=links, **context)
