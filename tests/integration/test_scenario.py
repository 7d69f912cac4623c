"""The issue's scenario: a trainer, a CI promoter and a deployer share one git
remote over ssh (a real sshd) and one S3 remote (moto_server). The deployer has
no clone: after each step it runs ``modelreg get NAME#production --repo URL``
with its credentials in the environment, and its bytes must be the ones
registered for the version that holds production then."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from .. import servers
from ..conftest import Cli, git
from .conftest import Remotes, clone, model_bytes

pytestmark = pytest.mark.integration


def test_trainer_promoter_and_deployer_share_a_registry(
    remotes: Remotes, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = remotes("s3")
    sshd: servers.Sshd = remotes.server("sshd")
    monkeypatch.setenv("GIT_SSH_COMMAND", sshd.git_ssh_command)
    _bare, origin = sshd.bare_repo("scenario")

    # The trainer sets up the registry and registers two versions, each shared at once.
    trainer = tmp_path / "trainer"
    trainer.mkdir()
    cli.ok("init", "--remote", store.url, cwd=trainer)
    store.configure(trainer, commit=True)
    git(trainer, "remote", "add", "origin", origin)
    registered = {}
    for seed, version in ((1, "0.1.0"), (2, "0.2.0")):
        data = model_bytes(seed)
        path = tmp_path / f"train-{seed}" / "model.bin"
        path.parent.mkdir()
        path.write_bytes(data)
        cli.ok("-C", trainer, "register", "fraud", path, "--version", version, "--push")
        shown = json.loads(cli.ok("-C", trainer, "show", f"fraud@v{version}", "--json").stdout)
        [artifact] = shown["manifest"]["artifacts"]
        assert artifact["sha256"] == hashlib.sha256(data).hexdigest()
        registered[version] = artifact["sha256"]
    store.assert_no_secret_committed(trainer)

    deploys = iter(range(100))

    def deploy() -> tuple[int, str, str | None]:
        """The deploy job: no clone, S3 credentials in its environment only."""
        out = tmp_path / f"deploy-{next(deploys)}"
        job = tmp_path / "deployer"
        job.mkdir(exist_ok=True)
        with monkeypatch.context() as env:
            for key, value in store.env.items():
                env.setenv(key, value)
            result = cli("get", "fraud#production", "--repo", origin, "-o", out, cwd=job)
        if result.exit_code != 0:
            return result.exit_code, result.stderr, None
        return 0, result.stdout, servers.sha256_file(out / "model.bin")

    # Nothing holds production yet: the deploy job fails cleanly.
    code, message, _ = deploy()
    assert code == 1
    assert message == (
        "modelreg: error: no version of fraud holds stage 'production' "
        "(hint: no stage of fraud is held)\n"
    )

    # The CI promoter works in its own clone, with no S3 credentials at all.
    promoter = clone(origin, tmp_path / "promoter")
    cli.ok("-C", promoter, "promote", "fraud@v0.1.0", "--to", "production", "--push")
    code, output, digest = deploy()
    assert (code, digest) == (0, registered["0.1.0"]), output
    assert "fraud v0.1.0" in output

    cli.ok("-C", promoter, "promote", "fraud@v0.2.0", "--to", "production", "--push")
    code, output, digest = deploy()
    assert (code, digest) == (0, registered["0.2.0"]), output

    cli.ok("-C", promoter, "rollback", "fraud", "--stage", "production", "--push", "-m", "p99")
    code, output, digest = deploy()
    assert (code, digest) == (0, registered["0.1.0"]), output

    # The trainer pulls and sees the promoter's events.
    cli.ok("-C", trainer, "pull")
    assert cli.ok("-C", trainer, "resolve", "fraud#production").stdout.strip() == "0.1.0"
    history = json.loads(cli.ok("-C", trainer, "history", "fraud", "--json").stdout)["events"]
    assert [e["event"] for e in history] == ["register", "register", "assign", "assign", "rollback"]
    assert history[-1]["reason"] == "p99"
