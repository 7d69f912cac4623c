"""Remotes: push without force, fetch that never overwrites a tag, and what a
remote holds (branches, tags)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..errors import GitError, RaceLostError
from .runner import GitBase, _short

RACE_LOST = (
    "already exists",  # a tag or counter another clone pushed first
    "fetch first",  # the branch moved on before this push began
    "non-fast-forward",
    "stale",  # a create-only lease on a counter that exists now
    # ...or while the remote was taking this push: "cannot lock ref 'refs/heads/main':
    # is at X but expected Y" (atomic), "incorrect old value provided" (not atomic)
    "but expected",
    "incorrect old value",
)
"""git's words for a push refused because another writer got there first."""


class RemoteOps(GitBase):
    """Talking to other repositories: push, fetch, ls-remote, upstream branches."""

    def remote_url(self, remote: str) -> str | None:
        return self.config_value(f"remote.{remote}.url")

    def push(
        self,
        remote: str,
        refspecs: Iterable[str],
        *,
        atomic: bool = False,
        create_only: Sequence[str] = (),
    ) -> None:
        """Push without force. A ref the remote already has differently (a tag
        taken by another clone, a branch that moved on) is a :class:`RaceLostError`;
        any other failure a :class:`GitError`."""
        refspecs = list(refspecs)
        if not refspecs:
            return
        args = ["push", "--porcelain"] + (["--atomic"] if atomic else [])
        # "--force-with-lease=REF:" with nothing expected: create REF, never replace it.
        args += [f"--force-with-lease={ref}:" for ref in create_only]
        args += [remote, *refspecs]
        status, out, err = self.try_run(*args)
        if status == 0:
            return
        rejected = [
            line.split("\t")[1].split(":")[-1]
            for line in out.splitlines()
            if line.startswith("!") and line.count("\t") >= 2 and "atomic push failed" not in line
        ]
        text = out + err
        if rejected and any(word in text for word in RACE_LOST):
            raise RaceLostError(
                f"{remote} already has {', '.join(rejected[:3])} written differently",
                hint="another clone wrote first; run 'modelreg pull', then try again",
            )
        raise GitError(
            f"git push to {remote} failed: {_short(err or out)}",
            hint="check the remote with 'git ls-remote', then run 'modelreg push'",
        )

    def push_branch(self, remote: str, branch: str) -> None:
        """Push ``branch`` to the branch of that name on ``remote`` (no force)."""
        self.push(remote, [_same_ref(f"refs/heads/{branch}")])

    def push_tags(
        self,
        remote: str,
        tags: Sequence[str],
        *,
        branch: str | None = None,
        reserve: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Push ``tags`` (and ``branch`` first, when given) in one atomic push, with
        each ``(object id, ref)`` of ``reserve`` created on the remote, never replaced:
        all of it lands, or none (:meth:`push`'s errors)."""
        refspecs = [_same_ref(f"refs/heads/{branch}")] if branch else []
        refspecs += [_same_ref(f"refs/tags/{tag}") for tag in tags]
        refspecs += [f"{sha}:{ref}" for sha, ref in reserve]
        self.push(remote, refspecs, atomic=True, create_only=[ref for _sha, ref in reserve])

    def fetch_shallow(self, url: str, rev: str, into: str) -> tuple[bool, str]:
        """Fetch ``url``'s ``rev`` (depth 1) into the ref ``into``, replacing it, and
        its tags as they are: new ones added, one held here with other content never
        overwritten (:func:`rejected_tags` finds those in the stderr) and none pruned.
        Returns (success, git's stderr)."""
        # Tags without force and never pruned: a tag moved on the origin is rejected
        # by git, and refused by the caller, instead of silently replacing what was read.
        status, _out, err = self.try_run(
            "fetch",
            "--no-write-fetch-head",
            "--depth=1",
            "--no-tags",
            "--",
            url,
            f"+{rev}:{into}",
            "refs/tags/*:refs/tags/*",
        )
        return status == 0, err

    def branches_at(self, url: str) -> list[str]:
        """Branch names at ``url`` (one ``git ls-remote --heads``; none when it fails)."""
        status, out, _err = self.try_run("ls-remote", "--heads", url)
        return [
            line.partition("\t")[2].removeprefix("refs/heads/")
            for line in out.splitlines()
            if status == 0 and "\t" in line
        ]

    def read_remote_branch_files(
        self, remote: str, branches: Sequence[str], path: str
    ) -> dict[str, bytes | None]:
        """Branch -> contents of ``path`` on the fetched ``remote/branch`` (None: absent),
        through one ``cat-file --batch``."""
        specs = {b: f"refs/remotes/{remote}/{b}:{path}" for b in branches}
        found = self.read_files(list(specs.values()))
        return {b: found.get(spec) for b, spec in specs.items()}

    def fetch(self, remote: str) -> list[str]:
        """Fetch branches (as remote-tracking refs) and tags. A tag that exists here
        with other content is never overwritten: it is returned, the rest fetched."""
        status, _out, err = self.try_run(
            "fetch",
            "--no-write-fetch-head",
            remote,
            f"+refs/heads/*:refs/remotes/{remote}/*",
            "refs/tags/*:refs/tags/*",
        )
        conflicts = rejected_tags(err)
        if status != 0 and not conflicts:
            raise GitError(f"git fetch from {remote} failed: {_short(err)}")
        return conflicts

    def fast_forward(self, upstream: str) -> bool:
        """Fast-forward the current branch to ``upstream`` if that is possible."""
        status, _, _ = self.try_run("merge", "--ff-only", "--quiet", upstream)
        return status == 0

    def upstream(self) -> str | None:
        status, out, _ = self.try_run("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}")
        return out.strip() if status == 0 and out.strip() else None

    def remote_names(self) -> list[str]:
        return self.run("remote").split()

    def remote_branches(self, remote: str) -> list[str]:
        """Branch names this clone has fetched from ``remote`` (``refs/remotes/<remote>/``)."""
        prefix = f"refs/remotes/{remote}/"
        out = self.run("for-each-ref", "--format=%(refname)", prefix)
        names = [line[len(prefix) :] for line in out.splitlines() if line.startswith(prefix)]
        return [n for n in names if n != "HEAD"]

    def has_remote_branches(self) -> bool:
        return bool(self.run("for-each-ref", "--count=1", "--format=%(refname)", "refs/remotes/"))

    def check_out_new_branch(self, branch: str, start: str) -> None:
        """Create ``branch`` at ``start``, tracking it, and check it out (HEAD has no
        commits yet: nothing of the user's is replaced; git refuses to overwrite an
        untracked file)."""
        if branch.startswith("-") or start.startswith("-"):
            raise GitError(f"'{branch}' is not a branch name")
        status, _out, err = self.try_run("checkout", "--quiet", "-b", branch, "--track", start)
        if status != 0:
            raise GitError(
                f"cannot check out {branch} from {start}: {_short(err)}",
                hint=f"move what is in the way, then run: git checkout -b {branch} --track {start}",
            )

    def remote_tags(self, remote: str) -> dict[str, str]:
        """Tag name → tag object id on ``remote``."""
        out = self.run("ls-remote", "--tags", remote)
        tags: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.startswith("refs/tags/") and not ref.endswith("^{}"):
                tags[ref[len("refs/tags/") :]] = sha
        return tags


def _same_ref(ref: str) -> str:
    """The refspec that sends ``ref`` to the ref of the same name."""
    return f"{ref}:{ref}"


_REJECTED = r"^\s*!\s+\[rejected\]\s+\S+\s+->\s+(\S+)"


def rejected_tags(stderr: str) -> list[str]:
    """Tags ``git fetch`` refused to overwrite ("would clobber existing tag")."""
    return [m.group(1) for m in re.finditer(_REJECTED, stderr, re.MULTILINE) if "clobber" in stderr]
