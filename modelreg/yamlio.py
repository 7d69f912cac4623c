"""The one YAML entry point: a safe loader with limits, and a stable dumper."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent

MAX_YAML_BYTES = 1024 * 1024


class YamlError(ValueError):
    """YAML that cannot or must not be loaded; the message is one line."""


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases: manifests never need them, and refusing
    them makes 'billion laughs' documents fail at the first alias."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            line = event.start_mark.line + 1 if event.start_mark else 0
            raise YamlError(f"line {line}: YAML aliases are not allowed")
        return Composer.compose_node(self, parent, index)


def load(text: str | bytes) -> Any:
    """Parse one YAML document safely; raise :class:`YamlError` on any problem."""
    if len(text) > MAX_YAML_BYTES:
        raise YamlError(f"larger than {MAX_YAML_BYTES // 1024} KiB")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlError(f"not UTF-8 text ({exc.reason})") from None
    try:
        return yaml.load(text, Loader=_LimitedLoader)
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise YamlError(f"{where}{exc.problem or exc}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise YamlError(str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None
    except (ValueError, KeyError, AttributeError, IndexError, TypeError, OverflowError) as exc:
        # PyYAML's constructors raise plain errors on values like 2026-13-45 or !!int x.
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise YamlError(f"a value cannot be read ({detail})") from None


def dump(data: Any) -> str:
    """Serialise with the caller's key order (stable diffs), block style, UTF-8.

    PyYAML writes some characters (U+0085, U+2028...) as line breaks that read back
    as spaces; a document that would not read back equal is written ASCII-escaped.
    """
    text = _dump(data, allow_unicode=True)
    if text.isascii() or yaml.load(text, Loader=yaml.SafeLoader) == data:
        return text
    return _dump(data, allow_unicode=False)


def _dump(data: Any, *, allow_unicode: bool) -> str:
    return yaml.dump(
        data,
        Dumper=yaml.SafeDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=allow_unicode,
        width=100,
    )
