"""The command line: parse options, make one library call, render the result.

This module is also the one error boundary: a :class:`ModelregError` is one
line on stderr and exit 1; Click's usage errors exit 2; anything else is a bug,
reported in one line with the path of the traceback (exit 3); Ctrl-C is 130.

Only Click is imported at start-up, so ``modelreg --help`` stays fast; the
library, Rich and (where bytes move) DVC load inside the commands.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from .errors import ModelregError
    from .registry import Registry
    from .results import EventResult


@dataclass
class _Context:
    directory: Path
    quiet: bool
    traceback: bool
    # -C's directory, which relative paths are taken from (None: the process's own)
    cwd: Path | None = None
    _registry: Registry | None = field(default=None, init=False)

    def registry(self) -> Registry:
        if self._registry is None:
            from .registry import Registry

            self._registry = Registry(self.directory, progress=self.progress())
        return self._registry

    def reader(self, repo: str | None) -> Registry:
        """The registry to read: this one, or the one at ``--repo``."""
        if repo is None:
            return self.registry()
        from .remote import registry_at

        return registry_at(repo, progress=self.progress(), cwd=self.cwd)

    def progress(self) -> Any:
        from .render import RichProgress

        return RichProgress(enabled=not self.quiet)


pass_ctx = click.make_pass_decorator(_Context)
repo_option = click.option(
    "--repo",
    metavar="URL",
    envvar="MODELREG_REPO",
    show_envvar=True,
    help="Read the registry at this git URL (or clone path) instead, without a clone.",
)
json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON (a stable shape; see README) instead of a table.",
)
json_result_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the result as JSON (a stable shape; see README) instead of text.",
)
message_option = click.option(
    "-m",
    "--message",
    envvar="MODELREG_MESSAGE",
    show_envvar=True,
    help="Why: recorded in the tag as Modelreg-Reason and shown by history.",
)
push_option = click.option(
    "--push",
    is_flag=True,
    envvar="MODELREG_PUSH",
    show_envvar=True,
    help="Also push the event (and its files) to the git and DVC remotes.",
)
force_option = click.option(
    "--force",
    is_flag=True,
    help="Override a refusing gate (needs -m REASON; recorded as Modelreg-Forced in the tag).",
)
sign_option = click.option(
    "--sign",
    is_flag=True,
    envvar="MODELREG_SIGN",
    show_envvar=True,
    help="Sign the event's tag (git tag -s, with git's gpg.format and user.signingkey).",
)
yes_option = click.option(
    "-y",
    "--yes",
    is_flag=True,
    envvar="MODELREG_YES",
    show_envvar=True,
    help="Do not ask for confirmation (on a terminal, --force and deprecating a model ask).",
)


def jobs_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(1, 256),
        envvar="MODELREG_JOBS",
        show_envvar=True,
        help=help,
    )


class _Group(click.Group):
    """Keeps commands in the order they are defined (the order of a model's life)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    envvar="MODELREG_DIR",
    show_envvar=True,
    help="Run as if started in this directory (like git -C).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    envvar="MODELREG_QUIET",
    show_envvar=True,
    help="No progress bars or notes on stderr.",
)
@click.option(
    "--traceback",
    is_flag=True,
    envvar="MODELREG_TRACEBACK",
    show_envvar=True,
    help="On an internal error, print the full traceback.",
)
@click.version_option(package_name="modelreg", message="modelreg %(version)s")
@click.pass_context
def cli(ctx: click.Context, directory: Path, quiet: bool, traceback: bool) -> None:
    """A model registry that lives in your git repository.

    Metadata is YAML committed to git, model files go to a DVC remote, and every
    event (register, promote, rollback, deprecate) is an annotated git tag that
    GTO reads too.

    Example: modelreg init && modelreg register fraud model.pkl && modelreg list
    """
    cwd = None
    if directory != Path("."):
        # Like git -C: everything, relative paths included, happens from there (passed
        # to the library as its caller's directory: the process's stays as it is).
        if not directory.exists() and ctx.invoked_subcommand == "init":
            directory.mkdir(parents=True)  # 'modelreg -C new-folder init' makes it
        if not directory.is_dir():
            raise click.BadParameter(f"{directory}: no such directory", param_hint="-C")
        cwd = directory.resolve()
    ctx.obj = _Context(cwd or Path("."), quiet, traceback, cwd)


# --- set-up ---------------------------------------------------------------------


@cli.command()
@click.option(
    "--remote",
    metavar="URL",
    help="DVC remote for model files (a folder, s3://, ssh://, ...). "
    "Default: a local folder under ~/.local/share/modelreg.",
)
@json_result_option
@pass_ctx
def init(obj: _Context, remote: str | None, as_json: bool) -> None:
    """Set up a registry here: .modelreg.yaml, DVC and a DVC remote, committed.

    Runs 'git init' first when the directory is not in a git repository. Safe to
    run again.

    Example: modelreg init --remote /mnt/shared/models
    """
    from . import render
    from .registry import Registry

    _registry, result = Registry.init(
        obj.directory, remote=remote, progress=obj.progress(), cwd=obj.cwd
    )
    render.init_result(result, as_json)


# --- writes ----------------------------------------------------------------------


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{value}' is not KEY=VALUE", param_hint=option)
        out[key] = item
    return out


def _number(value: str, key: str) -> float | int:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"{key}={value}: not a number", param_hint="--metric") from None
    from .manifest import metric_problem

    problem = metric_problem(number)
    if problem:
        raise click.BadParameter(f"{key}={value}: {problem}", param_hint="--metric")
    return number


def _scalar(value: str) -> str | int | float | bool | None:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


@cli.command()
@click.argument("name")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--version", "version", metavar="V", help="Version to register (default: next minor)."
)
@click.option(
    "--bump",
    type=click.Choice(["major", "minor", "patch"]),
    help="Bump the latest version instead of naming one.",
)
@click.option(
    "--author",
    envvar="MODELREG_AUTHOR",
    show_envvar=True,
    help="Author (default: git's user.name <user.email>).",
)
@click.option("--license", "license_", metavar="SPDX", help="Licence, as an SPDX expression.")
@click.option("--description", help="One line describing the model.")
@click.option("--framework", help="sklearn, pytorch, onnx, ...")
@click.option("--label", "labels", multiple=True, metavar="K=V", help="A label (repeatable).")
@click.option("--metric", "metrics", multiple=True, metavar="K=V", help="A metric (repeatable).")
@click.option("--param", "params", multiple=True, metavar="K=V", help="A parameter (repeatable).")
@click.option(
    "--dep",
    "deps",
    multiple=True,
    metavar="NAME@RANGE",
    help="A model this one needs, e.g. embedder@^2.0.0 (repeatable).",
)
@click.option(
    "--allow-unresolved", is_flag=True, help="Register even if no version satisfies a --dep."
)
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Training data (lineage).",
)
@click.option("--code-commit", metavar="SHA", help="Commit the model was trained from (lineage).")
@message_option
@push_option
@sign_option
@json_result_option
@pass_ctx
def register(
    obj: _Context,
    name: str,
    paths: tuple[Path, ...],
    version: str | None,
    bump: str | None,
    author: str | None,
    license_: str | None,
    description: str | None,
    framework: str | None,
    labels: tuple[str, ...],
    metrics: tuple[str, ...],
    params: tuple[str, ...],
    deps: tuple[str, ...],
    allow_unresolved: bool,
    data: tuple[Path, ...],
    code_commit: str | None,
    message: str | None,
    push: bool,
    sign: bool,
    as_json: bool,
) -> None:
    """Register files or a folder as a new version of NAME.

    Copies the files under models/NAME/ (unless they are there already), tracks
    them with DVC, writes models/NAME/model.yaml, commits only those files and
    tags NAME@vVERSION.

    Example: modelreg register fraud-detector model.pkl --metric auc=0.91 -m "weekly retrain"
    """
    from . import render

    result = obj.registry().register(
        name,
        list(paths),
        version=version,
        bump=bump,  # type: ignore[arg-type]
        author=author,
        license=license_,
        description=description,
        framework=framework,
        labels=_pairs(labels, "--label"),
        metrics={k: _number(v, k) for k, v in _pairs(metrics, "--metric").items()},
        params={k: _scalar(v) for k, v in _pairs(params, "--param").items()},
        dependencies=deps,
        allow_unresolved=allow_unresolved,
        data=list(data),
        code_commit=code_commit,
        message=message,
        push=push,
        sign=sign,
        cwd=obj.cwd,
    )
    render.registered(result, as_json)


# --- reads -----------------------------------------------------------------------


@cli.command("list")
@click.option("-a", "--all", "include_all", is_flag=True, help="Include deprecated models.")
@repo_option
@json_option
@pass_ctx
def list_(obj: _Context, include_all: bool, repo: str | None, as_json: bool) -> None:
    """List models with their latest version and who holds each stage.

    Example: modelreg list --json
    """
    from . import render

    registry = obj.reader(repo)
    models = registry.list_models(include_deprecated=include_all)
    _warn(models.warnings)
    render.models(models, registry.config.stages if registry.config.exists else (), as_json)


def _warn(warnings: Sequence[str]) -> None:
    """What the library says about an answer, on stderr before the answer."""
    from . import render

    for warning in warnings:
        render.warning(warning)


@cli.command()
@click.argument("ref", metavar="NAME[@vV|#STAGE]")
@repo_option
@json_option
@pass_ctx
def show(obj: _Context, ref: str, repo: str | None, as_json: bool) -> None:
    """Show one version: manifest, stages, files and digests (NAME alone: latest).

    Example: modelreg show fraud-detector#production
    """
    from . import render

    shown = obj.reader(repo).show(ref)
    _warn(shown.warnings)
    render.version(shown, as_json)


@cli.command()
@click.argument("name", required=False)
@click.option("--reverse", is_flag=True, help="Newest first.")
@repo_option
@json_option
@pass_ctx
def history(
    obj: _Context, name: str | None, reverse: bool, repo: str | None, as_json: bool
) -> None:
    """Every event of one model (or all): time, who, event, version, stage, reason.

    Example: modelreg history fraud-detector
    """
    from . import render

    events = obj.reader(repo).history(name, reverse=reverse)
    _warn(events.warnings)
    render.history(events, as_json)


@cli.command()
@click.argument("ref", metavar="NAME#STAGE|NAME@latest|NAME@vV")
@repo_option
@json_option
@pass_ctx
def resolve(obj: _Context, ref: str, repo: str | None, as_json: bool) -> None:
    """Print the version a reference means (for scripts).

    Example: VERSION=$(modelreg resolve fraud-detector#production)
    """
    from . import render

    resolved = obj.reader(repo).resolve(ref)
    _warn(resolved.warnings)
    render.resolved(resolved, as_json)


# --- stages ----------------------------------------------------------------------


def _gated(force: bool, yes: bool, as_json: bool, change: Callable[[bool], EventResult]) -> None:
    """Run a stage change; with --force, show what the gates refuse and (on a
    terminal, without --yes) ask before overriding them."""
    from . import render
    from .errors import GateError

    if not force:
        render.event(change(False), as_json)
        return
    try:
        result = change(False)
    except GateError as refused:
        for failure in refused.failures:
            render.warning(f"gate '{failure.gate}' refuses: {failure.message}")
        # (with --json the question goes to stderr: stdout holds only the document)
        if (
            not yes
            and sys.stdin.isatty()
            and not click.confirm("Override and record it?", err=as_json)
        ):
            raise click.exceptions.Abort() from None
        result = change(True)
    render.event(result, as_json)


@cli.command()
@click.argument("ref", metavar="NAME@vV")
@click.option("--to", "stage", required=True, metavar="STAGE", help="Stage to assign.")
@message_option
@push_option
@sign_option
@force_option
@yes_option
@json_result_option
@pass_ctx
def promote(
    obj: _Context,
    ref: str,
    stage: str,
    message: str | None,
    push: bool,
    sign: bool,
    force: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Assign a stage to a version (a new NAME#STAGE#N tag).

    Gates: the stage is in .modelreg.yaml; with promotion_order, the version
    holds the previous stage; its dependencies have satisfying versions in the
    stage; models already in the stage keep theirs satisfied.

    Example: modelreg promote fraud-detector@v1.3.0 --to production -m "passed shadow test"
    """
    registry = obj.registry()
    _gated(
        force,
        yes,
        as_json,
        lambda forced: registry.promote(
            ref, stage, message=message, push=push, force=forced, sign=sign
        ),
    )


@cli.command()
@click.argument("name")
@click.option("--stage", required=True, help="Stage to roll back.")
@click.option(
    "--to", "to", metavar="V", help="Version to give the stage to (default: the one before)."
)
@message_option
@push_option
@sign_option
@force_option
@yes_option
@json_result_option
@pass_ctx
def rollback(
    obj: _Context,
    name: str,
    stage: str,
    to: str | None,
    message: str | None,
    push: bool,
    sign: bool,
    force: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Give STAGE back to the version that held it before (a new tag; none is moved).

    The dependency gates of promote apply.

    Example: modelreg rollback fraud-detector --stage production -m "latency regression"
    """
    registry = obj.registry()
    _gated(
        force,
        yes,
        as_json,
        lambda forced: registry.rollback(
            name, stage, to=to, message=message, push=push, force=forced, sign=sign
        ),
    )


@cli.command()
@click.argument("ref", metavar="NAME[@vV]")
@message_option
@push_option
@sign_option
@yes_option
@json_result_option
@pass_ctx
def deprecate(
    obj: _Context, ref: str, message: str | None, push: bool, sign: bool, yes: bool, as_json: bool
) -> None:
    """Deprecate a model (NAME) or deregister one version (NAME@vV).

    Example: modelreg deprecate fraud-detector@v1.0.0 -m "trained on leaked labels"
    """
    from . import render

    if "@" not in ref and not yes and sys.stdin.isatty():
        click.confirm(f"Deprecate the whole model {ref}?", abort=True, err=as_json)
    render.event(obj.registry().deprecate(ref, message=message, push=push, sign=sign), as_json)


@cli.command()
@click.argument("ref", metavar="NAME[@vV]")
@click.option("--reverse", is_flag=True, help="List the model versions that depend on NAME.")
@click.option("--stage", metavar="STAGE", help="Resolve against what holds STAGE.")
@json_option
@pass_ctx
def deps(obj: _Context, ref: str, reverse: bool, stage: str | None, as_json: bool) -> None:
    """Dependency tree of a version: resolved versions, conflicts, cycles, missing models.

    Each dependency resolves to the highest registered version in its range, or
    with --stage to the version holding that stage. Exits 1 when something does
    not resolve. --reverse lists every version that depends on NAME instead.

    Example: modelreg deps fraud-detector --stage production
    """
    from . import render

    registry = obj.registry()
    if reverse:
        from .deps import unsatisfied
        from .refs import parse_ref

        name = parse_ref(ref).name
        found = registry.dependents(name, stage=stage)
        render.dependents(name, stage, found, as_json)
        _fail(unsatisfied(name, found))
        return
    tree = registry.deps(ref, stage=stage)
    render.dependency_tree(tree, as_json)
    _fail(tree.failure(ref))


def _fail(failure: ModelregError | None) -> None:
    """A report rendered, the command fails as the report says (exit 1)."""
    if failure is not None:
        raise failure


@cli.command()
@json_option
@pass_ctx
def check(obj: _Context, as_json: bool) -> None:
    """Validate .modelreg.yaml and every manifest; exit 1 with one line per problem.

    Checks schema, types, SemVer, SPDX licences, dependency ranges and that they
    resolve, cycles, each artifact's .dvc file, and that registered manifests are
    unchanged. Reads files and tags only: fast enough for a pre-commit hook.

    Example: modelreg check
    """
    from . import render

    report = obj.registry().check()
    render.check_report(report, as_json)
    _fail(report.failure())


@cli.command()
@click.argument("ref", metavar="[NAME[@vV]]", required=False)
@click.option("--remote", is_flag=True, help="Also hash every file as the DVC remote holds it.")
@click.option(
    "--signatures", is_flag=True, help="Report unsigned events and check every signature."
)
@json_option
@pass_ctx
def verify(obj: _Context, ref: str | None, remote: bool, signatures: bool, as_json: bool) -> None:
    """Check, offline, that nothing was tampered with; exit 1 with one line per finding.

    Every tag's recorded manifest digest against the manifest at its commit (a
    moved tag shows), every .dvc file against its manifest, every file's sha256 in
    the work tree and the DVC cache (and with --remote on the DVC remote), and
    signatures (all with --signatures; otherwise for stages in require_signed).

    Example: modelreg verify fraud-detector --remote --signatures
    """
    from . import render

    report = obj.registry().verify(ref, remote=remote, signatures=signatures)
    render.verify_report(report, as_json)
    _fail(report.failure())


@cli.command()
@click.option("--repair", is_flag=True, help="Finish or take back what was interrupted.")
@json_option
@pass_ctx
def doctor(obj: _Context, repair: bool, as_json: bool) -> None:
    """Find work left half-done by a killed command; --repair finishes or undoes it.

    An interrupted register or checkout is completed when its tag exists, and
    taken back otherwise; modelreg's temporary files are removed. Nothing the
    user wrote is touched. Exits 1 when something needs repair.

    Example: modelreg doctor --repair
    """
    from . import render

    report = obj.registry().doctor(repair=repair)
    render.doctor_report(report, as_json)
    _fail(report.failure())


@cli.command()
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@json_option
@click.option("--markdown", is_flag=True, help="Print a Markdown table (for a pull request).")
@pass_ctx
def diff(obj: _Context, a: str, b: str, as_json: bool, markdown: bool) -> None:
    """Compare two versions (or two stages): metadata, metrics with deltas, params,
    dependencies and files.

    Example: modelreg diff fraud-detector#production fraud-detector#staging --markdown
    """
    from . import render

    if as_json and markdown:
        raise click.UsageError("choose one of --json and --markdown")
    render.version_diff(obj.registry().diff(a, b), as_json, markdown)


# --- bytes -----------------------------------------------------------------------


@cli.command()
@click.argument("ref", metavar="NAME@vV|NAME#STAGE")
@json_result_option
@pass_ctx
def checkout(obj: _Context, ref: str, as_json: bool) -> None:
    """Restore models/NAME/ (manifest, .dvc files, bytes) to a version.

    Refuses to overwrite changes that are not registered.

    Example: modelreg checkout fraud-detector#production
    """
    from . import render

    render.files_written(obj.registry().checkout(ref), "Checked out", as_json)


@cli.command()
@click.argument("ref", metavar="NAME@vV|NAME#STAGE")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    envvar="MODELREG_OUT",
    show_envvar=True,
    help="Directory to write the files to (default: ./NAME).",
)
@repo_option
@click.option("--force", is_flag=True, help="Replace different files already in the directory.")
@jobs_option(
    "Files to copy at once (default: 4 x CPUs from a network remote, CPUs from local "
    "files; at most 8)."
)
@json_result_option
@pass_ctx
def get(
    obj: _Context,
    ref: str,
    out: Path | None,
    repo: str | None,
    force: bool,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Fetch a version's files, verify every sha256, and write them to a directory.

    Example: modelreg get fraud-detector#production -o /srv/model --repo git@host:ml/registry
    """
    from . import render
    from .refs import parse_ref

    parsed = parse_ref(ref)
    result = obj.reader(repo).get(parsed, out, force=force, jobs=jobs, cwd=obj.cwd)
    _warn(result.warnings)
    render.files_written(result, "Fetched", as_json)


# --- sharing ---------------------------------------------------------------------


git_remote_option = click.option(
    "--remote",
    default="origin",
    show_default=True,
    envvar="MODELREG_GIT_REMOTE",
    show_envvar=True,
    help="Git remote.",
)
dvc_remote_option = click.option(
    "--dvc-remote",
    metavar="NAME",
    envvar="MODELREG_DVC_REMOTE",
    show_envvar=True,
    help="DVC remote (default: the registry's).",
)


transfer_jobs_option = jobs_option(
    "Files to transfer at once (default: DVC's, 4 x CPUs for most remotes)."
)


@cli.command()
@git_remote_option
@dvc_remote_option
@transfer_jobs_option
@json_result_option
@pass_ctx
def push(
    obj: _Context, remote: str, dvc_remote: str | None, jobs: int | None, as_json: bool
) -> None:
    """Push file bytes to the DVC remote, then commits and registry tags to git.

    Tags are never force-pushed.

    Example: modelreg push
    """
    from . import render

    render.synced(obj.registry().push(remote, dvc_remote=dvc_remote, jobs=jobs), "push", as_json)


@cli.command()
@git_remote_option
@dvc_remote_option
@transfer_jobs_option
@json_result_option
@pass_ctx
def pull(
    obj: _Context, remote: str, dvc_remote: str | None, jobs: int | None, as_json: bool
) -> None:
    """Fetch tags and commits, fast-forward the branch, and fetch the current files.

    Example: modelreg pull
    """
    from . import render

    render.synced(obj.registry().pull(remote, dvc_remote=dvc_remote, jobs=jobs), "pull", as_json)


# --- DVC remotes -----------------------------------------------------------------------


@cli.group(cls=_Group)
def remote() -> None:
    """The DVC remotes that hold model files (S3, GCS, Azure, SSH, WebDAV, a folder).

    Example: modelreg remote add store s3://ml-models/registry --default
    """


@remote.command("list")
@json_option
@pass_ctx
def remote_list(obj: _Context, as_json: bool) -> None:
    """List DVC remotes: URL, shared options, and which credentials are set locally.

    Credential values are never printed.

    Example: modelreg remote list
    """
    from . import render

    render.remotes(obj.registry().remotes(), as_json)


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--default", "make_default", is_flag=True, help="Make it the default remote.")
@click.option("--endpoint-url", metavar="URL", help="For S3-compatible stores (MinIO, Ceph...).")
@click.option(
    "--option", "options", multiple=True, metavar="K=V", help="A DVC remote option (committed)."
)
@click.option(
    "--local-option",
    "local_options",
    multiple=True,
    metavar="K=V",
    help="A credential or machine-specific option, kept in .dvc/config.local (never committed).",
)
@pass_ctx
def remote_add(
    obj: _Context,
    name: str,
    url: str,
    make_default: bool,
    endpoint_url: str | None,
    options: tuple[str, ...],
    local_options: tuple[str, ...],
) -> None:
    """Add a DVC remote (or replace one of that name) and commit .dvc/config.

    Example: modelreg remote add store s3://bucket/models --endpoint-url http://minio:9000 --default
    """
    from . import render
    from .ops.remotes import missing_plugin

    added = obj.registry().remote_add(
        name,
        url,
        default=make_default,
        endpoint_url=endpoint_url,
        options=_pairs(options, "--option"),
        local_options=_pairs(local_options, "--local-option"),
        cwd=obj.cwd,
    )
    render.remotes([added], False)
    extra = missing_plugin(added.url)
    if extra:
        render.warning(f"this remote needs a DVC plugin: pip install 'modelreg[{extra}]'")


@remote.command("remove")
@click.argument("name")
@pass_ctx
def remote_remove(obj: _Context, name: str) -> None:
    """Remove a DVC remote from the config (its files stay where they are).

    Example: modelreg remote remove old-store
    """
    obj.registry().remote_remove(name)


@remote.command("default")
@click.argument("name")
@pass_ctx
def remote_default(obj: _Context, name: str) -> None:
    """Make NAME the default DVC remote.

    Example: modelreg remote default store
    """
    obj.registry().remote_default(name)


# --- the error boundary ----------------------------------------------------------------


def _traceback_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "modelreg"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "last-traceback.txt"


def _refuse_undecodable(args: Sequence[str]) -> None:
    """Bytes that are not UTF-8 (Python hands them over as lone surrogates) cannot go
    into a tag message, a manifest or a git argument: one line, exit 1, before any
    work starts."""
    settings = [(f"${k}", v) for k, v in os.environ.items() if k.startswith("MODELREG_")]
    for shown, text in [(None, a) for a in args] + settings:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            from .render import error

            raw = repr(text.encode("utf-8", "surrogateescape"))[2:-1]
            where = f"{shown} " if shown else "argument "
            error(f"{where}'{raw}' is not valid UTF-8 text", "pass text in UTF-8")
            sys.exit(1)


def _flag_words() -> dict[str, str]:
    """The CLI's words for each fix the library names by its parameter: its flags."""
    from . import errors as e

    return {
        e.FORCE_WITH_REASON: "override with --force -m REASON",
        e.NO_FORCE: "--force cannot override this",
        e.FORCE_NEEDS_REASON: "--force needs a reason: add -m REASON",
        e.FORCE_OR_OUT_DIR: "pass --force to replace it, or choose another -o DIR",
        e.ALLOW_UNRESOLVED: "pass --allow-unresolved",
        e.SIGN: "pass --sign",
        e.LOCAL_OPTION: "pass it as --local-option",
        e.PASSWORD_LOCAL_OPTION: "in --local-option",
        e.REMOTE_LOCAL_OPTIONS: "modelreg remote add NAME URL --local-option",
        e.ROLLBACK_TO: "name one: modelreg rollback {name} --stage {stage} --to VERSION",
        e.REPAIR_WITH_DOCTOR: "run 'modelreg doctor --repair'",
        e.REGISTERED_WITHOUT_PUSH: "the version was registered without '--push'; "
        "run 'modelreg push' in the clone that registered it",
        e.VERIFY_REMOTE: "run 'modelreg verify --remote'",
        e.VERIFY_REMOTE_FINDS: "'modelreg verify --remote' finds them",
        e.ADD_DEFAULT_REMOTE: "modelreg remote add NAME URL --default",
        e.INIT_REMOTE: "modelreg init --remote URL",
        e.INIT_REMOTE_RUN: "run 'modelreg init --remote URL'",
        e.PARAM: "{flag} '",
        e.PARAM_BARE: "{flag} ",
    }


def cli_words(exc: ModelregError) -> tuple[str, str | None]:
    """The error's message and hint as the CLI says them: each fix the library
    named by the operation's parameter becomes the flag that sets it."""
    message, hint = exc.message, exc.hint
    words = _flag_words()
    for remedy in exc.remedies:
        said = remedy.text
        args = dict(remedy.args, flag="--" + remedy.param.replace("_", "-"))
        flag = words[remedy.said].format(**args)
        if said in message:
            message = message.replace(said, flag, 1)
        elif hint is not None:
            hint = hint.replace(said, flag, 1)
    return message, hint


# --- the registry over HTTP ---------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--sync",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="Fetch what others published every SECONDS (a replica of the git remote).",
)
@click.option(
    "--public",
    is_flag=True,
    help="Listen beyond loopback although no token exists (anyone could write).",
)
@pass_ctx
def serve(obj: _Context, host: str, port: int, sync: float | None, public: bool) -> None:
    """Serve this registry over HTTP: the REST API, its docs and the web page.

    Example: modelreg serve --port 8080
    """
    from .server.run import serve as run
    from .server.settings import Settings

    run(Settings(root=obj.registry().root, host=host, port=port, sync=sync, public=public))


from .cli_token import token  # noqa: E402  (it uses this module's helpers)

cli.add_command(token)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    from .errors import EXIT_CODES, Kind, ModelregError

    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    _refuse_undecodable(args)
    try:
        cli.main(args=args, prog_name="modelreg", standalone_mode=False)
    except ModelregError as exc:
        from .render import error

        error(*cli_words(exc))
        sys.exit(EXIT_CODES[exc.kind])
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("modelreg: interrupted\n")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("modelreg: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:
        # The file system refused something the user named (a path too long, a
        # folder where a file should be, no permission): their problem to fix.
        from .render import error

        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}", None)
        sys.exit(1)
    except Exception as exc:  # the bug boundary
        import traceback

        text = traceback.format_exc()
        if show_traceback:
            sys.stderr.write(text)
        where = "(could not write the traceback)"
        try:
            path = _traceback_file()
            path.write_text(text, encoding="utf-8")
            where = f"traceback in {path}"
        except OSError:
            pass
        sys.stderr.write(
            f"modelreg: internal error ({type(exc).__name__}: {exc}); this is a bug; {where}\n"
        )
        sys.exit(EXIT_CODES[Kind.BUG])
    sys.exit(0)
