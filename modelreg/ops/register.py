"""register: a new version of a model, as a commit and its ``NAME@vVERSION`` tag.

This module checks the request (name, version, dependencies through
:mod:`..gates`) under the write lock; :mod:`..registering` runs the journaled
transaction (bytes into DVC, manifest, commit), whose last step is the tag
:mod:`..events` writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .. import manifest as manifest_mod
from ..errors import (
    InvalidNameError,
    InvalidReferenceError,
    ManifestError,
    VersionExistsError,
    about_input,
)
from ..events import PUSH_REMOTE, fetch_remote_view
from ..manifest import Scalar
from ..results import RegisterResult
from ..tags import (
    EventKind,
    format_tag_name,
    name_to_tag,
    parse_tag_name,
    validate_new_name,
    validate_read_name,
)

if TYPE_CHECKING:
    from ..hashing import Digests, KnownDigests
    from ..registry import Registry
    from ..versions import BumpPart


def register(
    self: Registry,
    name: str,
    paths: str | Path | Sequence[str | Path],
    *,
    version: str | None = None,
    bump: BumpPart | None = None,
    author: str | None = None,
    license: str | None = None,
    description: str | None = None,
    framework: str | None = None,
    labels: dict[str, str] | None = None,
    metrics: dict[str, float | int] | None = None,
    params: dict[str, Scalar] | None = None,
    dependencies: str | Sequence[str] = (),
    allow_unresolved: bool = False,
    data: str | Path | Sequence[str | Path] = (),
    code_commit: str | None = None,
    message: str | None = None,
    push: bool = False,
    sign: bool = False,
    cwd: str | Path | None = None,
    known_digests: Mapping[Path, Digests] | None = None,
    remember_in: KnownDigests | None = None,
) -> RegisterResult:
    """Track ``paths`` (files or folders) with DVC as a new version of ``name``,
    commit its manifest and tag it ``NAME@vVERSION``.

    ``paths``, ``dependencies`` and ``data`` each take one item or a sequence of
    them: ``register("m", "out/model.pkl")`` registers that one file. Relative
    ``paths`` and ``data`` are taken from ``cwd`` (the caller's directory).

    ``known_digests``: a file's digests the caller computed itself from the very
    bytes at that path (the server does, as an upload arrives), so they are not
    read and hashed again. Never from user input: they become the manifest's
    sha256 and DVC's address unchecked.

    ``remember_in``: where to vouch for the DVC cache objects the registration
    wrote (their sha256 was computed on the way in); by default the repository's
    store, which a running ``modelreg serve`` reads (a server passes its own).
    """
    from .. import spdx
    from ..gates import check_dependencies
    from ..registering import (
        Metadata,
        Registration,
        collect_sources,
        lineage,
        next_version,
        parse_dependency,
        refuse_links,
        with_known,
    )
    from ..sharing import push_event, require_remote
    from ..storage import DVC_DIR

    paths, data = _one_or_many(paths), _one_or_many(data)
    dependencies = [dependencies] if isinstance(dependencies, str) else list(dependencies)
    self._require_registry()
    if self._find_model(name, refresh=True) is None:
        validate_new_name(name)
        _refuse_nested_name(self, name)
    else:
        validate_read_name(name)
    if push:
        require_remote(self.git, PUSH_REMOTE)
    identity = str(self.git.identity())  # fail before any work when git cannot commit
    model_dir = self.model_dir(name)
    private = [self.git.git_dir.resolve(), (self.root / DVC_DIR).resolve()]
    sources = collect_sources(paths, self.model_folder(name), private, cwd)
    if known_digests:
        sources = with_known(sources, known_digests)
    if license is not None and (issue := spdx.problem(license)):
        said = about_input("license")
        raise ManifestError(f"{said.text}{license}': {issue}", remedy=said)
    metadata = Metadata(
        author=author or identity,
        description=description,
        license=license,
        framework=framework,
        labels=dict(labels or {}),
        metrics=dict(metrics or {}),
        params=dict(params or {}),
        dependencies=tuple(parse_dependency(d) for d in dependencies),
        lineage=lineage(self.root, data, _code_commit(self, code_commit), cwd),
    )
    with self._locked():
        if push:
            fetch_remote_view(self)
        # Only this model and its dependencies: registering costs the same in any registry.
        state = self._read_models([name, *(d.name for d in metadata.dependencies)])
        new_version = next_version(state.model(name), version, bump)
        check_dependencies(name, metadata.dependencies, state, allow_unresolved)
        tag = format_tag_name(EventKind.REGISTER, name, version=new_version)
        if self.git.tag_exists(tag):
            raise VersionExistsError(f"{name}@{new_version.tag_form} is already registered")
        refuse_links(self.root, model_dir, [s.rel for s in sources])
        # What the checks below ask of git's index, in one read of it.
        self.git.list_index([DVC_DIR, model_dir])
        base, _current = self._worktree_base(name, model_dir)
        registration = Registration(
            self.git,
            self.storage,
            self.progress,
            name=name,
            model_dir=model_dir,
            version=new_version,
            head=self.git.head(),
            base=base,
            remember_in=remember_in,
        )

        def publish(tag: str, manifest: manifest_mod.Manifest) -> None:
            md5s = [a.md5 for a in manifest.artifacts]
            push_event(
                self.git, self.storage, PUSH_REMOTE, tag, md5s, self.config.remote,
                with_branch=True,
            )  # fmt: skip

        def store(tag: str, manifest: manifest_mod.Manifest) -> None:
            # A local-folder DVC remote (the embedded default) is shared by every
            # clone on this machine: the bytes go there with the event, so they
            # outlive this clone. (DVC copies by reflink where it can.)
            self.storage.push([a.md5 for a in manifest.artifacts], self.config.remote)

        if push:
            after_tag: Callable[[str, manifest_mod.Manifest], None] | None = publish
        else:
            after_tag = store if self.storage.remote_is_local(self.config.remote) else None
        try:
            model = state.model(name)
            with self.storage.locked():
                done = registration.run(
                    sources,
                    metadata,
                    tag,
                    message,
                    sign or self.config.sign,
                    sequence=model.max_counter if model else 0,
                    after=model.latest_time if model else None,
                    publish=after_tag,
                )
        finally:
            self._forget()
    return RegisterResult(name, str(new_version), tag, done.commit, done.manifest, push)


def _code_commit(self: Registry, given: str | None) -> str | None:
    """``--code-commit``: a revision of this repository becomes its full id; a
    commit id from another repository (the training code's) is kept as given."""
    if given is None:
        return None
    resolved = self.git.resolve(given) if not given.startswith("-") else None
    if resolved:
        return resolved
    if manifest_mod.is_commit_id(given):
        return given.lower()
    said = about_input("code_commit")
    raise InvalidReferenceError(
        f"{said.text}{given}': not a commit of this repository, nor a commit id",
        hint="give a revision (HEAD, a branch, a tag) or a hexadecimal commit id",
        remedy=said,
    )


def _refuse_nested_name(self: Registry, name: str) -> None:
    """``team`` and ``team/fraud`` would share a folder: one model's walks and
    commits would take in the other's files. Reads only the tags that could be
    in the way (models under ``name/``, and each folder above it)."""
    parents = ["/".join(name.split("/")[:i]) for i in range(1, name.count("/") + 1)]
    others = [p for p in parents if self._find_model(p) is not None]
    for tag, _oid in self.git.tag_refs([name_to_tag(name)]):
        parsed = parse_tag_name(tag)
        if parsed is not None and parsed.name.startswith(name + "/"):
            others.append(parsed.name)
    if others:
        raise InvalidNameError(
            f"model '{name}' would share the folder {self.model_dir(name)}/ with "
            f"model '{others[0]}'",
            hint="choose a name that is not a folder of another model's name",
        )


def _one_or_many(items: str | Path | Sequence[str | Path]) -> list[str | Path]:
    """One path, or a sequence of them, as a list (a string is one path, not its letters)."""
    if isinstance(items, str | os.PathLike):
        return [items]
    return list(items)
