"""Tamper evidence: ``verify`` finds edited manifests, moved tags and corrupt bytes in the
work tree, the DVC cache and the DVC remote; ``get`` refuses corrupt bytes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from modelreg import IntegrityError, Registry
from modelreg.hashing import KnownDigests

from .conftest import Cli, Clock, FileMaker, git


@pytest.fixture
def shared(registry: Registry, files: FileMaker, clock: Clock, tmp_path: Path) -> Registry:
    registry.register("m", [files("model.pkl", b"first weights")])
    clock.tick()
    registry.register("m", [files("model.pkl", b"second weights")])
    clock.tick()
    registry.promote("m@v0.1.0", "production")
    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(registry.root, "remote", "add", "origin", str(bare))
    registry.push()
    return registry


def _object(root: Path, content: bytes, base: Path | None = None) -> Path:
    md5 = hashlib.md5(content).hexdigest()
    where = base if base is not None else root / ".dvc" / "cache"
    return where / "files" / "md5" / md5[:2] / md5[2:]


def _flip(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_clean_registry_verifies(cli: Cli, shared: Registry) -> None:
    result = cli("-C", shared.root, "verify", "--remote")
    assert result.exit_code == 0, result
    assert result.stdout.startswith("verified 3 tag(s), 2 version(s)")
    data = json.loads(cli.ok("-C", shared.root, "verify", "--json").stdout)
    assert data["ok"] is True and data["findings"] == []


def test_an_edited_manifest_and_a_moved_tag_are_found(cli: Cli, shared: Registry) -> None:
    root = shared.root
    message = git(root, "tag", "-l", "--format=%(contents)", "m@v0.1.0")
    # Rewrite v0.1.0's manifest in a new commit and move its tag there, keeping the message.
    git(root, "checkout", "-q", "m@v0.1.0", "--", "models/m/model.yaml")
    manifest = root / "models" / "m" / "model.yaml"
    manifest.write_text(manifest.read_text().replace("created:", "description: better\ncreated:"))
    git(root, "commit", "-qam", "quietly improve v0.1.0")
    (root / "msg").write_text(message)
    git(root, "tag", "-f", "-a", "m@v0.1.0", "-F", str(root / "msg"))
    (root / "msg").unlink()
    result = cli("-C", root, "verify")
    assert result.exit_code == 1
    assert "m@v0.1.0: the manifest at" in result.stdout
    assert "(the tag was moved or its commit rewritten)" in result.stdout
    assert result.stderr.startswith("modelreg: error: verify found")


def test_a_tag_moved_to_another_version_is_found(cli: Cli, shared: Registry) -> None:
    root = shared.root
    target = git(root, "rev-parse", "m@v0.2.0^{commit}").strip()
    git(root, "tag", "-f", "-a", "m#production#1", "-m", "sneaky", target)
    git(root, "tag", "-f", "-a", "m@v0.1.0", "-m", "sneaky", target)
    out = cli("-C", root, "verify").stdout
    assert (
        "m@v0.1.0: tag m@v0.1.0 points at a commit whose manifest is v0.2.0's "
        "(the tag was moved: m@v0.2.0 points there too)"
    ) in out
    assert "m@v0.1.0: its commit holds a manifest but the tag records no digest" in out


def test_a_corrupt_cache_object_is_found_and_refused(
    cli: Cli, shared: Registry, tmp_path: Path
) -> None:
    _flip(_object(shared.root, b"first weights"))
    result = cli("-C", shared.root, "verify", "m@v0.1.0")
    assert result.exit_code == 1
    assert "m@v0.1.0: DVC cache copy of model.pkl has sha256" in result.stdout
    # The remote's copy is corrupt too (a good one would repair the cache: test_workspace).
    _flip(_object(shared.root, b"first weights", base=tmp_path / "dvc-remote"))
    with pytest.raises(IntegrityError, match="does not match its sha256"):
        shared.get("m@v0.1.0", tmp_path / "out")
    assert not (tmp_path / "out" / "model.pkl").exists()


def test_verify_reads_the_cache_whatever_is_remembered_and_remembers_what_it_read(
    cli: Cli, shared: Registry
) -> None:
    """An object put in the cache behind modelreg's back (here: replaced by a copy,
    so a new inode) is unknown to the repository's store until ``verify`` reads it;
    ``verify`` never believes the store (a wrong digest there is not taken), and
    what it read spares a server's next download the hashing."""
    obj = _object(shared.root, b"first weights")
    copy = obj.with_name("copy")
    copy.write_bytes(obj.read_bytes())
    copy.replace(obj)
    assert KnownDigests.of_repository(shared.root / ".git").remembered(obj) is None
    KnownDigests.of_repository(shared.root / ".git").vouch([(obj, "0" * 64)])
    cli.ok("-C", shared.root, "verify", "m@v0.1.0")
    good = hashlib.sha256(b"first weights").hexdigest()
    assert KnownDigests.of_repository(shared.root / ".git").remembered(obj) == good


def test_a_corrupt_remote_object_is_found_and_refused(
    cli: Cli, shared: Registry, tmp_path: Path
) -> None:
    store = tmp_path / "dvc-remote"
    _flip(_object(shared.root, b"first weights", base=store))
    assert cli("-C", shared.root, "verify").exit_code == 0  # offline: the cache is fine
    result = cli("-C", shared.root, "verify", "--remote")
    assert result.exit_code == 1
    assert "m@v0.1.0: the DVC remote's copy of model.pkl has sha256" in result.stdout
    # A clone with no cache must fetch from the remote: get refuses the corrupt bytes.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(tmp_path / "shared.git"), str(clone))
    refused = cli("-C", clone, "get", "m@v0.1.0", "-o", tmp_path / "out")
    assert refused.exit_code == 1
    assert "does not match its sha256" in refused.stderr
    assert "the DVC remote's object" in refused.stderr
    assert not (tmp_path / "out" / "model.pkl").exists()


def test_a_missing_remote_object_is_found(cli: Cli, shared: Registry, tmp_path: Path) -> None:
    _object(shared.root, b"second weights", base=tmp_path / "dvc-remote").unlink()
    result = cli("-C", shared.root, "verify", "--remote")
    assert "m@v0.2.0: model.pkl is not on the DVC remote" in result.stdout


def test_a_modified_work_tree_file_is_found(cli: Cli, shared: Registry) -> None:
    data = shared.root / "models" / "m" / "model.pkl"
    _flip(data)
    result = cli("-C", shared.root, "verify")
    assert "m@v0.2.0: work-tree file model.pkl has sha256" in result.stdout


def test_a_dvc_file_that_disagrees_with_its_manifest(cli: Cli, shared: Registry) -> None:
    root = shared.root
    dvc_file = root / "models" / "m" / "model.pkl.dvc"
    dvc_file.write_text(dvc_file.read_text().replace("md5: ", "md5: 0", 1))
    git(root, "commit", "-qam", "edit a .dvc file")
    message = git(root, "tag", "-l", "--format=%(contents)", "m@v0.2.0")
    (root / "msg").write_text(message)
    git(root, "tag", "-f", "-a", "m@v0.2.0", "-F", str(root / "msg"))
    (root / "msg").unlink()
    out = cli("-C", root, "verify", "m@v0.2.0").stdout
    assert "m@v0.2.0: model.pkl.dvc names md5 0" in out


def test_a_report_with_findings_is_a_failure_any_face_can_raise() -> None:
    from modelreg.verify import Finding, VerifyReport

    assert VerifyReport(1, 1, 1, ()).failure() is None
    failure = VerifyReport(1, 1, 1, (Finding("m@v1.0.0", "moved"),)).failure()
    assert failure is not None and failure.message == "verify found 1 problem(s)"
