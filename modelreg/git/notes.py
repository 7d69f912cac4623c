"""Git notes: where a version was published, kept on the version's commit.

A publication is no event GTO knows, so it gets no tag (GTO keeps reading the
registry as before); it is a line in a note on the commit the version's tags point
at, under its own notes ref (``refs/notes/modelreg-oci``), which ``push`` and
``pull`` share like the tags: pushed without force, fetched into a remote-tracking
notes ref and merged line by line (``cat_sort_uniq``), so two clones that each
published somewhere both keep both lines.
"""

from __future__ import annotations

from pathlib import Path

from .runner import GitBase

OCI_NOTES = "refs/notes/modelreg-oci"


def _tracking(remote: str) -> str:
    return f"refs/notes/remotes/{remote}/modelreg-oci"


class NotesOps(GitBase):
    """The publication notes: add a line, read them, push and fetch the notes ref."""

    def add_publication(self, commit: str, line: str) -> None:
        """Append ``line`` to the note on ``commit`` (one commit on the notes ref)."""
        self.run("notes", f"--ref={OCI_NOTES}", "append", "-m", line, commit)

    def publications(self, commit: str) -> list[str]:
        """The lines of the note on ``commit`` (none: empty): no git call in a
        registry that never published (most), else one."""
        if not self._notes_ref_may_exist():
            return []
        status, out, _err = self.try_run("notes", f"--ref={OCI_NOTES}", "show", commit)
        return [line for line in out.splitlines() if line.strip()] if status == 0 else []

    def _notes_ref_may_exist(self) -> bool:
        """Whether the notes ref is a loose ref or named in ``packed-refs``, read from
        git's own files (a ``show`` must not pay a git process for a feature unused);
        a reftable repository, or anything unreadable, says yes and lets git answer."""
        if (self.common_dir / OCI_NOTES).is_file():
            return True
        try:
            found = _packed_ref_named(self.common_dir / "packed-refs", OCI_NOTES)
        except FileNotFoundError:
            return (self.common_dir / "reftable").exists()
        except OSError:
            return True
        return found or (self.common_dir / "reftable").exists()

    def has_publications(self) -> bool:
        return self.resolve(OCI_NOTES) is not None

    def push_publications(self, remote: str) -> bool:
        """Push the notes ref without force; False when the remote's has moved on (a
        pull merges it)."""
        if not self.has_publications():
            return True
        status, _out, _err = self.try_run("push", "--quiet", remote, f"{OCI_NOTES}:{OCI_NOTES}")
        return status == 0

    def fetch_publications(self, remote: str) -> bool:
        """Fetch the remote's notes ref and merge it into ours; False if it could not
        be merged (left in its tracking ref)."""
        tracking = _tracking(remote)
        status, _out, _err = self.try_run(
            "fetch", "--no-write-fetch-head", "--quiet", remote, f"+{OCI_NOTES}:{tracking}"
        )
        if status != 0 or self.resolve(tracking) is None:
            return True  # the remote has none (yet)
        status, _out, _err = self.try_run(
            "notes", f"--ref={OCI_NOTES}", "merge", "--quiet", "-s", "cat_sort_uniq", tracking
        )
        return status == 0


def _packed_ref_named(path: Path, ref: str) -> bool:
    """Whether ``packed-refs`` names ``ref``. A file git marks ``sorted`` is read only
    up to where ``ref`` would be (``refs/notes/`` comes before the 120,000 lines of
    ``refs/tags/`` in a big registry); any other, whole."""
    wanted = ref.encode()
    with open(path, "rb") as handle:
        first = handle.readline()
        if b" sorted" not in first or not first.startswith(b"#"):
            return b" " + wanted + b"\n" in first + handle.read()
        for line in handle:
            if line.startswith(b"^"):  # the peeled id of the ref above
                continue
            name = line.rstrip(b"\n").partition(b" ")[2]
            if name >= wanted:
                return name == wanted
    return False
