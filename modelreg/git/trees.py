"""Git tree objects edited in memory: a commit of a few files in a big registry
rewrites only the trees on their paths (the root, ``models/``, the model's
folder), read and written as objects, instead of loading all of HEAD's entries
into an index and writing it back (~100 ms at 30,000 files).

Pure functions over a tree's raw bytes (git's format: ``MODE SP NAME NUL OID``,
sorted as git sorts them); reading and writing objects is the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping

TREE_MODE = b"40000"
FILE_MODE = b"100644"

# name -> (mode, raw object id)
Entries = dict[bytes, tuple[bytes, bytes]]
# (mode, raw object id; None: remove the entry)
Change = tuple[bytes, bytes | None]


def parse_tree(data: bytes, oid_size: int) -> Entries:
    """A tree object's entries, in its order; ValueError when ``data`` is not one."""
    import re

    found = re.findall(rb"([0-7]{5,6}) ([^\0]+)\0(.{%d})" % oid_size, data, re.DOTALL)
    # The entries must cover every byte: findall skips what does not match.
    covered = sum(len(mode) + len(name) for mode, name, _oid in found) + len(found) * (2 + oid_size)
    if covered != len(data):
        raise ValueError("not a tree object")
    return {name: (mode, oid) for mode, name, oid in found}


def _order(item: tuple[bytes, tuple[bytes, bytes]]) -> bytes:
    """git's order: names compared as bytes, a tree's as if it ended in ``/``."""
    name, (mode, _oid) = item
    return name + b"/" if mode == TREE_MODE else name


def serialize_tree(entries: Entries) -> bytes:
    """The tree object's bytes, its entries in git's order."""
    ordered = sorted(entries.items(), key=_order)
    return b"".join([mode + b" " + name + b"\0" + oid for name, (mode, oid) in ordered])


def folders_of(paths: Mapping[str, object]) -> list[str]:
    """Every folder on the way to ``paths`` ("" for the root), deepest first."""
    found = {""}
    for path in paths:
        parts = path.split("/")[:-1]
        found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(found, key=lambda f: (-f.count("/") if f else 1, f))


def changes_in(
    folder: str, files: Mapping[str, bytes | None], subtrees: Mapping[str, bytes | None]
) -> dict[bytes, Change]:
    """The changes to ``folder``'s own entries: ``files`` (path -> raw blob id, None
    to remove) directly in it, and ``subtrees`` (path -> the new raw tree id of a
    folder in it, None when it became empty)."""
    prefix = f"{folder}/" if folder else ""
    changes: dict[bytes, Change] = {}
    for found, mode in ((files, FILE_MODE), (subtrees, TREE_MODE)):
        for path, oid in found.items():
            name = path[len(prefix) :]
            if path.startswith(prefix) and name and "/" not in name:
                changes[name.encode("utf-8", "surrogateescape")] = (mode, oid)
    return changes


def apply(entries: Entries, changes: Mapping[bytes, Change]) -> Entries:
    """``entries`` with ``changes`` made. A name replaces whatever had it (a file
    where a folder was, or the reverse); a removal removes only an entry of its
    kind (removing file ``a`` leaves a folder ``a`` alone, as ``git update-index``
    does)."""
    edited = dict(entries)
    for name, (mode, oid) in changes.items():
        if oid is not None:
            edited[name] = (mode, oid)
        elif name in edited and _same_kind(edited[name][0], mode):
            del edited[name]
    return edited


def splice(data: bytes, oid_size: int, changes: Mapping[bytes, Change]) -> bytes | None:
    """``data`` (a tree object) with ``changes`` made in place, as :func:`apply`
    would, without parsing every entry: a model's commit changes one entry of a
    10,000-entry ``models/`` tree. None where a change adds a name or changes an
    entry's kind (entries then move: the caller sorts the whole tree)."""
    for name, (mode, oid) in changes.items():
        found = _find(data, oid_size, name)
        if found is None or not _same_kind(found[2], mode):
            if oid is None:
                continue  # nothing of its kind to remove
            return None
        start, end, _old = found
        entry = b"" if oid is None else mode + b" " + name + b"\0" + oid
        data = data[:start] + entry + data[end:]
    return data


def _find(data: bytes, oid_size: int, name: bytes) -> tuple[int, int, bytes] | None:
    """Where the entry ``name`` is in a tree object: (start, end, mode). The pattern
    steps over whole entries from the first one, so a name's bytes inside another
    entry (its name or its object id) are never taken for it."""
    import re

    entry = rb"[0-7]{5,6} [^\0]+\0.{%d}" % oid_size
    target = rb"([0-7]{5,6}) %s\0.{%d}" % (re.escape(name), oid_size)
    found = re.match(rb"(?:%s)*?%s" % (entry, target), data, re.DOTALL)
    return None if found is None else (found.start(1), found.end(), found[1])


def _same_kind(mode: bytes, other: bytes) -> bool:
    return (mode == TREE_MODE) == (other == TREE_MODE)
