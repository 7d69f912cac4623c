"""Tags: reading them in bulk (one ``for-each-ref``, one ``cat-file --batch``),
parsing tag objects, writing and checking annotated tags."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import GitError, RaceLostError
from ..records import Record
from .runner import GitBase, _decode, _short

# The header of a tag object as git writes it: object, type, tag, tagger.
_TAG_HEADER = re.compile(
    rb"object ([0-9a-f]+)\ntype ([a-z]+)\ntag [^\n]*\n"
    rb"tagger ([^<\n]*)<([^>\n]*)> (-?[0-9]+)[^\n]*\n\n"
)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TagRecord(Record):
    """One tag as git stores it. ``target`` is the peeled commit."""

    name: str
    annotated: bool
    object_sha: str
    target: str
    tagger_name: str
    tagger_email: str
    timestamp: int
    message: str


class TagOps(GitBase):
    """Reading, writing and verifying tags."""

    def tag_refs(self, patterns: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """(tag name, object id) of every tag, or of those matching ``patterns``
        (globs relative to ``refs/tags/``, e.g. ``fraud@*``), from one
        ``git for-each-ref``. Patterns let git skip other tags (a binary search
        in packed refs), so one model's tags cost the same in any registry."""
        if patterns is not None and not patterns:
            return []
        selected = ["refs/tags/"] if patterns is None else [f"refs/tags/{p}" for p in patterns]
        out = self.run("for-each-ref", "--format=%(objectname) %(refname)", *selected, strip=False)
        refs = []
        for line in out.splitlines():
            oid, _, ref = line.partition(" ")
            if ref.startswith("refs/tags/"):
                refs.append((ref[len("refs/tags/") :], oid))
        return refs

    def tag_records(
        self, refs: Iterable[tuple[str, str]], *, messages: Container[str] | None = None
    ) -> Iterator[TagRecord]:
        """The tags ``(name, object id)``, read through one ``git cat-file --batch``
        and yielded as they arrive (nothing but the records is held).

        Annotated tags of commits and lightweight tags of commits become records;
        tags of trees or blobs are left out; a tag of a tag is peeled to its commit.
        With ``messages``, only the tags named there keep their message.
        """
        nested: list[TagRecord] = []
        people: dict[bytes, tuple[str, str]] = {}  # one str per tagger, not per tag
        for (name, oid), kind, data in self._cat_file((ref, ref[1]) for ref in refs):
            if data is None:
                continue
            if kind == "commit":
                yield TagRecord(name, False, oid, oid, "", "", _commit_time(data), "")
            elif kind == "tag":
                target, target_kind, tagger, email, when, message = _parse_tag(data, people)
                if messages is not None and name not in messages:
                    message = ""
                record = TagRecord(name, True, oid, target, tagger, email, when, message)
                if target_kind == "commit":
                    yield record
                elif target_kind == "tag":
                    nested.append(record)
        if nested:
            peeled = self._peel([record.object_sha for record in nested])
            for record in nested:
                if peeled.get(record.object_sha):
                    yield replace(record, target=peeled[record.object_sha])

    def tags(self, patterns: Sequence[str] | None = None) -> list[TagRecord]:
        """Every tag (or those matching ``patterns``): two git processes in all."""
        return list(self.tag_records(self.tag_refs(patterns)))

    def _peel(self, oids: Sequence[str]) -> dict[str, str]:
        """Tag object id -> the commit it finally points at (absent: not a commit)."""
        answers = self._cat_file(((oid, f"{oid}^{{commit}}") for oid in oids), check_only=True)
        return {oid: data.decode() for oid, kind, data in answers if kind == "commit" and data}

    def create_tag(
        self, name: str, target: str, message: str, *, sign: bool = False, after: int | None = None
    ) -> str:
        """Create an annotated tag; :class:`RaceLostError` if the name exists.

        ``after``: the tagger time must be strictly later than this (unix seconds).
        GTO orders a model's events by tagger time alone, in whole seconds, so an
        event stamped in the same second as the one before it (or earlier, on a
        clone whose clock is behind) would read differently there. When git's own
        time (``GIT_COMMITTER_DATE`` or the clock) is not past ``after``, the tag
        is stamped ``after + 1``.
        """
        import tempfile  # here: reads, which import this module, never write a tag

        with tempfile.NamedTemporaryFile("w", encoding="utf-8", delete=False) as handle:
            pass  # the message is written inside the try, so a full disk leaves no file
        try:
            Path(handle.name).write_text(message, encoding="utf-8")
            args = ["tag", "-s" if sign else "-a", "--cleanup=verbatim", "-F", handle.name]
            env = self._tagger_date_after(after) if after is not None else None
            status, _, err = self.try_run(*args, "--", name, target, env=env)
        finally:
            os.unlink(handle.name)
        if status != 0:
            if "already exists" in err:
                raise RaceLostError(f"tag {name} already exists")
            raise GitError(f"cannot create tag {name}: {_short(err)}")
        return name

    def _tagger_date_after(self, after: int) -> dict[str, str] | None:
        """The ``GIT_COMMITTER_DATE`` that puts a new tag after ``after``, or None
        when git's own time already does (git parses its date, in any format)."""
        status, out, _ = self.try_run("var", "GIT_COMMITTER_IDENT")
        parts = out.strip().rsplit(" ", 2)
        if status == 0 and len(parts) == 3 and parts[1].lstrip("-").isdigit():
            current, zone = int(parts[1]), parts[2]
        else:
            current, zone = int(time.time()), "+0000"
        if current > after:
            return None
        return {"GIT_COMMITTER_DATE": f"@{after + 1} {zone}"}

    def verify_tag(self, name: str) -> tuple[bool, str]:
        """Check a signed tag with git's own configuration (gpg, or
        ``gpg.ssh.allowedSignersFile`` for SSH keys): (good, git's one-line verdict)."""
        status, out, err = self.try_run("verify-tag", "--", name)
        lines = [line.strip() for line in (err + "\n" + out).splitlines() if line.strip()]
        return status == 0, (lines[0] if lines else ("good" if status == 0 else "bad"))

    def tag_exists(self, name: str) -> bool:
        status, _, _ = self.try_run("rev-parse", "--verify", "--quiet", f"refs/tags/{name}")
        return status == 0

    def tag_object(self, name: str) -> str | None:
        status, out, _ = self.try_run("rev-parse", "--verify", "--quiet", f"refs/tags/{name}")
        return out.strip() if status == 0 and out.strip() else None

    def delete_unpublished_tag(self, name: str, object_sha: str) -> None:
        """Take back a tag this command just made and could not publish (an event
        that did not complete). Only if it is still exactly that tag object."""
        self.run("update-ref", "-d", f"refs/tags/{name}", object_sha)


def _person(line: bytes) -> tuple[str, str, int]:
    """``Name <email> 1750000000 +0000`` -> (name, email, unix time)."""
    open_at, close_at = line.find(b"<"), line.rfind(b">")
    if open_at < 0 or close_at < open_at:
        return _decode(line).strip(), "", 0
    name = _decode(line[:open_at]).strip()
    email = _decode(line[open_at + 1 : close_at])
    when = line[close_at + 1 :].split()
    stamp = when[0] if when else b""
    return name, email, int(stamp) if stamp.lstrip(b"-").isdigit() else 0


def _parse_tag(
    data: bytes, people: dict[bytes, tuple[str, str]]
) -> tuple[str, str, str, str, int, str]:
    """:func:`parse_tag_object`, with one regular expression for the usual header
    and each tagger decoded once (``people`` remembers them)."""
    match = _TAG_HEADER.match(data)
    if match is None:
        return parse_tag_object(data)
    target, kind, name, email, when = match.groups()
    raw = name + b"<" + email
    person = people.get(raw)
    if person is None:
        person = people[raw] = (_decode(name).strip(), _decode(email))
    return (
        target.decode(),
        kind.decode(),
        person[0],
        person[1],
        int(when),
        _decode(data[match.end() :]),
    )


def parse_tag_object(data: bytes) -> tuple[str, str, str, str, int, str]:
    """A tag object's (target id, target type, tagger name, tagger email, unix time,
    message). Pure, for tests; a missing tagger gives empty strings and time 0."""
    header, _, message = data.partition(b"\n\n")
    target = kind = ""
    tagger: tuple[str, str, int] = ("", "", 0)
    for line in header.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"object":
            target = value.decode("ascii", "replace")
        elif key == b"type":
            kind = value.decode("ascii", "replace")
        elif key == b"tagger":
            tagger = _person(value)
    return target, kind, tagger[0], tagger[1], tagger[2], _decode(message)


def _commit_time(data: bytes) -> int:
    header = data.partition(b"\n\n")[0]
    for line in header.split(b"\n"):
        if line.startswith(b"committer "):
            return _person(line[len(b"committer ") :])[2]
    return 0
