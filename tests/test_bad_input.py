"""Every user mistake: one line on stderr, exit 1, and the repository exactly as it was
(HEAD, refs, index, work tree including ignored files)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from modelreg import Registry

from .conftest import Cli, FileMaker, Result, git

Unchanged = Callable[[Path], object]


def assert_user_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result
    assert result.stdout == "", result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("modelreg: error: "), result
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], result


@pytest.fixture
def populated(cli: Cli, repo: Path, files: FileMaker) -> Path:
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"one"))
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"two"))
    cli.ok("-C", repo, "promote", "m@v0.2.0", "--to", "production")
    # Unrelated user work in progress, which must survive every failure untouched.
    (repo / "wip.py").write_text("staged\n")
    git(repo, "add", "wip.py")
    (repo / "scratch.txt").write_text("untracked\n")
    return repo


def test_not_a_git_repository(cli: Cli, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for args in (["list"], ["show", "m"], ["history"], ["resolve", "m#production"]):
        assert_user_error(cli("-C", plain, *args), "not inside a git repository")
    assert list(plain.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the repository to another uid needs root")
def test_a_repository_owned_by_another_user(
    cli: Cli,
    populated: Path,
    files: FileMaker,
    assert_unchanged: Unchanged,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Git refuses it ("dubious ownership", root included): say that, with git's remedy,
    not "not inside a git repository (hint: run 'modelreg init')"."""
    monkeypatch.delenv("SUDO_UID", raising=False)  # git would trust the sudo user's repos
    owner = populated.stat()
    model = files()
    with assert_unchanged(populated):
        os.chown(populated, 12345, 12345)
        try:
            for args in (["list"], ["history", "m"], ["register", "m", model], ["init"]):
                result = cli("-C", populated, *args)
                assert_user_error(
                    result,
                    f"git refuses to work in {populated.resolve()}: it is owned by another user",
                    f"git config --global --add safe.directory {populated.resolve()}",
                )
                assert "modelreg init" not in result.stderr
        finally:
            os.chown(populated, owner.st_uid, owner.st_gid)


def test_registry_not_initialised(
    cli: Cli, tmp_path: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q")
    with assert_unchanged(plain):
        assert_user_error(cli("-C", plain, "register", "m", files()), "modelreg init")


def test_reads_in_a_repository_without_registry_are_empty_not_errors(
    cli: Cli, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q")
    assert cli.ok("-C", plain, "list", "--json").stdout.strip() == '{\n  "models": []\n}'


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["show", "nope"], "unknown model 'nope'"),
        (["show", "m@v9.9.9"], "m has no version v9.9.9"),
        (["resolve", "m#staging"], "no version of m holds stage 'staging'"),
        (["resolve", "m@1.0"], "is not a SemVer version"),
        (["history", "nope"], "unknown model 'nope'"),
        (["promote", "m@v9.0.0", "--to", "production"], "m has no version v9.0.0"),
        (["promote", "nope@v0.1.0", "--to", "production"], "unknown model 'nope'"),
        (["promote", "m@v0.1.0", "--to", "prod"], "'prod' is not a stage of this registry"),
        (["promote", "m@v0.1.0", "--to", "-x"], "invalid stage name"),
        (["rollback", "m", "--stage", "production"], "no earlier version of m held production"),
        (["rollback", "m", "--stage", "staging"], "no version of m holds staging"),
        (["rollback", "m", "--stage", "production", "--to", "7.0.0"], "no version v7.0.0"),
        (["deprecate", "m#production"], "deprecate takes NAME"),
        (["checkout", "m@v3.0.0"], "no version v3.0.0"),
        (["get", "ghost@v0.1.0"], "unknown model 'ghost'"),
        (["show", "bad name"], "invalid model name"),
        (["push", "--remote", "orign"], "no git remote 'orign'"),
        (["pull"], "no git remote 'origin'"),
    ],
)
def test_unknown_things_and_refused_requests(
    cli: Cli, populated: Path, assert_unchanged: Unchanged, args: list[str], fragment: str
) -> None:
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, *args), fragment)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("a..b", "'..'"),
        ("/abs", "must start and end"),
        ("trailing/", "must start and end"),
        ("has space", "only a-z"),
        ("Upper", "upper case"),
        ("-flag", "starts with '-'"),
        ("a//b", "'//'"),
        ("x" * 101, "longer than 100"),
        ("emoji-\u2603", "only a-z"),
    ],
)
def test_bad_model_names(
    cli: Cli,
    populated: Path,
    files: FileMaker,
    assert_unchanged: Unchanged,
    name: str,
    fragment: str,
) -> None:
    model = files()
    with assert_unchanged(populated):
        if name.startswith("-"):
            result = cli("-C", populated, "register", "--", name, model)
        else:
            result = cli("-C", populated, "register", name, model)
        assert_user_error(result, fragment)


@pytest.mark.parametrize("version", ["1.0", "v1", "1.0.0.0", "01.0.0", "latest", "1.0.0-"])
def test_version_not_semver(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged, version: str
) -> None:
    model = files()
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", model, "--version", version), "SemVer"
        )


@pytest.mark.parametrize("version", ["0.2.0", "v0.1.0"])
def test_registering_an_existing_version(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged, version: str
) -> None:
    model = files()
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", model, "--version", version),
            "already registered",
        )


def test_registering_a_deregistered_version_number_again(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    cli.ok("-C", populated, "deprecate", "m@v0.1.0")
    model = files()
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", model, "--version", "0.1.0"),
            "already registered",
        )


@pytest.mark.parametrize(
    ("version", "existing"), [("0.2.0+build.5", "v0.2.0"), ("v0.1.0+sha.1", "v0.1.0")]
)
def test_registering_a_version_of_equal_precedence(
    cli: Cli,
    populated: Path,
    files: FileMaker,
    assert_unchanged: Unchanged,
    version: str,
    existing: str,
) -> None:
    """1.0.0 and 1.0.0+build.5 order the same: which is latest would be a coin toss
    (and modelreg and GTO toss differently)."""
    model = files()
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", model, "--version", version),
            f"same SemVer precedence as the registered {existing}",
        )


def test_missing_path_and_empty_directory(
    cli: Cli, populated: Path, tmp_path: Path, assert_unchanged: Unchanged
) -> None:
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", tmp_path / "missing.pkl"),
            "no such file or directory",
        )
        assert_user_error(cli("-C", populated, "register", "m", empty), "no files to register")


def test_two_files_with_one_name(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    a, b = files("w.bin"), files("w.bin")
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, "register", "m", a, b), "both be stored as 'w.bin'")


def test_registering_files_from_inside_git_dir(
    cli: Cli, populated: Path, assert_unchanged: Unchanged
) -> None:
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", populated / ".git" / "HEAD"), ".git"
        )


def test_register_refuses_uncommitted_changes_to_the_model_folder(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    manifest = populated / "models" / "m" / "model.yaml"
    manifest.write_text(manifest.read_text().replace("auc", "auc") + "# hand edit\n")
    model = files()
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, "register", "m", model), "uncommitted changes")


def test_register_refuses_to_overwrite_unregistered_bytes(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    data = populated / "models" / "m" / "model.pkl"
    data.chmod(0o644)
    data.write_bytes(b"edited in place, never registered")
    model = files()
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "register", "m", model), "changes that are not registered"
        )


def test_checkout_refuses_uncommitted_changes(
    cli: Cli, populated: Path, assert_unchanged: Unchanged
) -> None:
    manifest = populated / "models" / "m" / "model.yaml"
    manifest.write_text(manifest.read_text() + "# local note\n")
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, "checkout", "m@v0.1.0"), "uncommitted changes")


def test_checkout_refuses_modified_model_bytes(
    cli: Cli, populated: Path, assert_unchanged: Unchanged
) -> None:
    data = populated / "models" / "m" / "model.pkl"
    data.chmod(0o644)
    data.write_bytes(b"fine-tuned locally")
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "checkout", "m@v0.1.0"), "changes that are not registered"
        )


def _cache_object(repo: Path, content: bytes) -> Path:
    import hashlib

    md5 = hashlib.md5(content).hexdigest()
    return repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def _corrupt_every_copy(repo: Path, content: bytes, bad: bytes) -> None:
    """Corrupt the cache's and the local-folder remote's copy of ``content``: with a
    good copy anywhere, get and checkout repair the cache from it instead of refusing."""
    cached = _cache_object(repo, content)
    [remote] = Registry(repo).remotes()
    stored = Path(remote.url) / cached.relative_to(repo / ".dvc" / "cache")
    for obj in (cached, stored):
        obj.chmod(0o644)
        obj.write_bytes(bad)


def test_get_refuses_bytes_that_do_not_match_the_manifest(
    cli: Cli, populated: Path, tmp_path: Path, assert_unchanged: Unchanged
) -> None:
    _corrupt_every_copy(populated, b"one", b"ONE")  # same size, different bytes
    out = tmp_path / "deploy"
    out.mkdir()
    (out / "keep.txt").write_text("already here\n")
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "get", "m@v0.1.0", "-o", out), "does not match its sha256"
        )
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_checkout_refuses_bytes_that_do_not_match(
    cli: Cli, populated: Path, assert_unchanged: Unchanged
) -> None:
    _corrupt_every_copy(populated, b"one", b"bad")
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, "checkout", "m@v0.1.0"), "does not match its sha256")


def _tag_a_hand_made_manifest(repo: Path, text: str, version: str) -> None:
    """Commit a hand-edited manifest and tag it as GTO or a person could."""
    folder = repo / "models" / "hand"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.yaml").write_text(text)
    git(repo, "add", "models/hand/model.yaml")
    git(repo, "commit", "-qm", "hand-made manifest")
    git(repo, "tag", "-a", f"hand@v{version}", "-m", "registered by hand")


GOOD = """schema: 1
name: hand
version: {version}
artifacts:
- path: w.bin
  size: 1
  sha256: {sha}
  md5: {md5}
created: '2026-11-22T00:00:00Z'
"""


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda t: t + "colour: blue\n", "colour: unknown key"),
        (lambda t: t.replace("size: 1", "size: one"), "artifacts[0].size"),
        (lambda t: t + "metrics: {auc: high}\n", "metrics.auc: must be a number"),
        (lambda t: t + "labels: [a, b]\n", "labels: must be a mapping"),
        (lambda t: t.replace("schema: 1", "schema: 1\n  oops: [unclosed"), "not valid YAML"),
        (lambda t: t.replace("version: 1.0.0", "version: 1.0"), "version: must be a string"),
    ],
)
def test_a_hand_edited_manifest_is_refused_with_file_and_field(
    cli: Cli,
    populated: Path,
    assert_unchanged: Unchanged,
    edit: Callable[[str], str],
    fragment: str,
) -> None:
    text = GOOD.format(version="1.0.0", sha="0" * 64, md5="0" * 32)
    _tag_a_hand_made_manifest(populated, edit(text), "1.0.0")
    with assert_unchanged(populated):
        for args in (["show", "hand@v1.0.0"], ["get", "hand@v1.0.0", "-o", "out"]):
            assert_user_error(cli("-C", populated, *args), "models/hand/model.yaml", fragment)


def test_lock_held_by_another_writer_times_out_cleanly(
    cli: Cli, populated: Path, monkeypatch: pytest.MonkeyPatch, assert_unchanged: Unchanged
) -> None:
    import fcntl

    monkeypatch.setenv("MODELREG_LOCK_TIMEOUT", "0.2")
    lock = populated / ".git" / "modelreg.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"pid 4242 on ci-runner: modelreg promote\n")
        with assert_unchanged(populated):
            result = cli("-C", populated, "promote", "m@v0.1.0", "--to", "staging")
            assert_user_error(result, "another modelreg process", "pid 4242")
            # Reads never wait for the writer.
            assert cli("-C", populated, "resolve", "m#production").stdout == "0.2.0\n"
    finally:
        os.close(fd)


def test_garbage_tags_are_skipped_with_a_warning(cli: Cli, populated: Path) -> None:
    commit = git(populated, "rev-parse", "HEAD").strip()
    git(populated, "tag", "m@v9.9.9", commit)  # lightweight: not an event
    # A name past SemVer's limits, as a remote could send it (too long for a loose ref).
    git(populated, "tag", "-a", "scratch", "-m", "too long", commit)
    obj = git(populated, "rev-parse", "refs/tags/scratch").strip()
    git(populated, "tag", "-d", "scratch")
    with (populated / ".git" / "packed-refs").open("a") as packed:
        packed.write(f"{obj} refs/tags/m@v1.0.0-{'x' * 300}\n^{commit}\n")
    git(
        populated,
        "tag",
        "-a",
        "m#production#99",
        "-m",
        "\x01\x02 garbage\n\nModelreg-Stage",
        commit,
    )
    result = cli("-C", populated, "list", "--json")
    assert result.exit_code == 0, result
    assert "skipped 2 tag(s)" in result.stderr
    listed = json.loads(result.stdout)["models"]
    assert listed[0]["latest"] == "0.2.0"  # the lightweight tag did not register a version


def test_dvc_lock_held_elsewhere_is_a_clean_error(
    cli: Cli, populated: Path, files: FileMaker, assert_unchanged: Unchanged
) -> None:
    from dvc.lock import Lock

    model = files()
    lock = Lock(str(populated / ".dvc" / "tmp" / "lock"))
    lock.lock()  # as a running 'dvc' command would hold it
    try:
        with assert_unchanged(populated):
            result = cli("-C", populated, "register", "m", model)
            assert_user_error(result, "another DVC process holds the lock")
    finally:
        lock.unlock()


def test_get_of_bytes_that_are_nowhere_names_the_fix(
    cli: Cli, populated: Path, tmp_path: Path, assert_unchanged: Unchanged
) -> None:
    # The local cache object was lost, and so was the DVC remote's copy (register put
    # it in the local-folder remote).
    obj = _cache_object(populated, b"one")
    obj.unlink()
    remote_copy = populated.parent / "dvc-remote" / obj.relative_to(populated / ".dvc" / "cache")
    remote_copy.unlink()
    out = tmp_path / "deploy"
    with assert_unchanged(populated):
        result = cli("-C", populated, "get", "m@v0.1.0", "-o", out)
    assert_user_error(result, "neither in the local cache nor on the DVC remote")
    assert "modelreg push" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("command", ["remove", "default"])
def test_unknown_dvc_remote(
    cli: Cli, populated: Path, command: str, assert_unchanged: Unchanged
) -> None:
    with assert_unchanged(populated):
        assert_user_error(
            cli("-C", populated, "remote", command, "nope"), "no DVC remote named 'nope'"
        )


@pytest.mark.parametrize(
    "args",
    [
        ["promote", "m@v0.1.0", "--to", "staging", "-m", "bad\udc9b"],
        ["register", "m", "model.pkl", "--description", "bad\udcff"],
    ],
    ids=["promote-reason", "register-description"],
)
def test_text_that_is_not_utf8_is_refused_in_one_line(
    cli: Cli, populated: Path, assert_unchanged: Unchanged, args: list[str]
) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates (what a shell passes
    for $'bad\\x9b'); they were an internal error in the write lock."""
    with assert_unchanged(populated):
        assert_user_error(cli("-C", populated, *args), "is not valid UTF-8 text")
