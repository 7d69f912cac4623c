"""events.py: the one event writer: a failed tag writes nothing, a counter collision
takes the next number, and signing.

Signed events with SSH keys made by ssh-keygen in the test (git's own signing, no
GPG agent): signed promotions verify, unsigned or badly signed ones are reported, and
a stage that requires signatures refuses unsigned promotions."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from modelreg import PolicyError, Registry
from modelreg.errors import GitError
from modelreg.gitrepo import GitRepo

from .conftest import Cli, Clock, FileMaker, Unchanged, git

pytestmark = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None, reason="ssh-keygen is needed (.ci/run installs it)"
)


def _key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True
    )
    return key


@pytest.fixture
def signing(registry: Registry, files: FileMaker, clock: Clock, tmp_path: Path) -> Registry:
    """A registry whose git signs with an SSH key that allowed_signers trusts."""
    key = _key(tmp_path, "release-key")
    root = registry.root
    git(root, "config", "gpg.format", "ssh")
    git(root, "config", "user.signingkey", f"{key}.pub")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"test@example.com {(tmp_path / 'release-key.pub').read_text()}")
    git(root, "config", "gpg.ssh.allowedSignersFile", str(allowed))
    registry.register("m", [files()])
    clock.tick()
    registry.register("m", [files()])
    return Registry(root)


def test_signed_events_verify(cli: Cli, signing: Registry, clock: Clock, files: FileMaker) -> None:
    clock.tick()
    signed = signing.register("m", [files()], sign=True)
    result = signing.promote(f"m@v{signed.version}", "production", sign=True)
    assert result.tag is not None
    raw = git(signing.root, "cat-file", "-p", result.tag)
    assert "-----BEGIN SSH SIGNATURE-----" in raw
    verified = cli("-C", signing.root, "verify", f"m@v{signed.version}", "--signatures")
    assert verified.exit_code == 0, verified
    assert verified.stdout.startswith("verified 2 tag(s), 1 version(s)")


def test_unsigned_events_are_reported_with_signatures(cli: Cli, signing: Registry) -> None:
    signing.promote("m@v0.1.0", "staging", sign=True)
    result = cli("-C", signing.root, "verify", "--signatures")
    assert result.exit_code == 1
    # The two registrations were not signed; the promotion was.
    assert "m@v0.1.0: not signed" in result.stdout
    assert "m@v0.2.0: not signed" in result.stdout
    assert "m#staging#1" not in result.stdout


def test_a_signature_from_an_untrusted_key_is_bad(
    cli: Cli, signing: Registry, tmp_path: Path
) -> None:
    other = _key(tmp_path, "intruder")
    git(signing.root, "config", "user.signingkey", f"{other}.pub")
    signing.promote("m@v0.2.0", "staging", sign=True)
    result = cli("-C", signing.root, "verify", "--signatures")
    assert "m#staging#1: bad signature" in result.stdout


def test_require_signed_refuses_unsigned_promotions(
    cli: Cli, signing: Registry, clock: Clock
) -> None:
    root = signing.root
    (root / ".modelreg.yaml").write_text(
        "stages: [dev, staging, production]\nrequire_signed: [production]\n"
    )
    git(root, "commit", "-qam", "production requires signatures")
    registry = Registry(root)
    with pytest.raises(PolicyError, match="production requires signed events"):
        registry.promote("m@v0.1.0", "production")
    assert registry.promote("m@v0.1.0", "staging").tag == "m#staging#1"  # not required there
    clock.tick()
    assert registry.promote("m@v0.1.0", "production", sign=True).tag == "m#production#2"
    # verify checks required stages even without --signatures: all good here...
    assert cli("-C", root, "verify").exit_code == 0
    # ...and reports a production assignment that was written unsigned by other means.
    commit = git(root, "rev-parse", "m@v0.2.0^{commit}").strip()
    git(root, "tag", "-a", "m#production#3", "-m", "sneaked in", commit)
    result = cli("-C", root, "verify")
    assert result.exit_code == 1
    assert "m#production#3: not signed (production requires signed events)" in result.stdout


def test_sign_true_in_the_config_signs_every_event(signing: Registry, clock: Clock) -> None:
    root = signing.root
    (root / ".modelreg.yaml").write_text("sign: true\n")
    git(root, "commit", "-qam", "sign everything")
    registry = Registry(root)
    tag = registry.promote("m@v0.2.0", "dev").tag
    assert tag is not None
    assert "-----BEGIN SSH SIGNATURE-----" in git(root, "cat-file", "-p", tag)


def test_a_promote_whose_tag_fails_writes_nothing(
    registry: Registry,
    files: FileMaker,
    monkeypatch: pytest.MonkeyPatch,
    assert_unchanged: Unchanged,
) -> None:
    registry.register("m", [files()])

    def fail(*args: object, **kwargs: object) -> object:
        raise GitError("simulated: disk full")

    monkeypatch.setattr(GitRepo, "create_tag", fail)
    with assert_unchanged(registry.root), pytest.raises(GitError):
        registry.promote("m@v0.1.0", "production")


def test_tag_counter_collision_takes_the_next_number(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files()])
    commit = git(registry.root, "rev-parse", "HEAD").strip()
    # Another writer's tag appears with the counter this one is about to use.
    registry.state(refresh=True)
    git(registry.root, "tag", "-a", "m#dev#1", "-m", "another writer", commit)
    stale = registry.state()  # modelreg read the tags before the other write
    assert stale.model("m") is not None and stale.model("m").max_counter == 0  # type: ignore[union-attr]
    result = registry.promote("m@v0.1.0", "staging")
    assert result.tag == "m#staging#2"
