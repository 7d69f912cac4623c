"""Set-up and housekeeping: init, the checks (check, verify, doctor) and the DVC
remotes (remote list/add/remove/default)."""

from __future__ import annotations

import click

from ._common import _Context, _fail, _Group, _pairs, json_option, json_result_option, pass_ctx

# --- set-up ---------------------------------------------------------------------


@click.command()
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
    from .. import render
    from ..registry import Registry

    _registry, result = Registry.init(
        obj.directory, remote=remote, progress=obj.progress(), cwd=obj.cwd
    )
    render.init_result(result, as_json)


# --- checks ----------------------------------------------------------------------


@click.command()
@json_option
@pass_ctx
def check(obj: _Context, as_json: bool) -> None:
    """Validate .modelreg.yaml and every manifest; exit 1 with one line per problem.

    Checks schema, types, SemVer, SPDX licences, dependency ranges and that they
    resolve, cycles, each artifact's .dvc file, and that registered manifests are
    unchanged. Reads files and tags only: fast enough for a pre-commit hook.

    Example: modelreg check
    """
    from .. import render

    report = obj.registry().check()
    render.check_report(report, as_json)
    _fail(report.failure())


@click.command()
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
    from .. import render

    report = obj.registry().verify(ref, remote=remote, signatures=signatures)
    render.verify_report(report, as_json)
    _fail(report.failure())


@click.command()
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
    from .. import render

    report = obj.registry().doctor(repair=repair)
    render.doctor_report(report, as_json)
    _fail(report.failure())


# --- DVC remotes -----------------------------------------------------------------------


@click.group(cls=_Group)
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
    from .. import render

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
    from .. import render
    from ..ops.remotes import missing_plugin

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
