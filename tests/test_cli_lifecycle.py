"""Every command through the CLI, with real git and DVC: exit code, stdout and
stderr checked apart."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import yaml

from modelreg.tags import parse_message

from .conftest import Cli, FileMaker, git


def register(cli: Cli, repo: Path, name: str, path: Path, *extra: str) -> dict[str, object]:
    cli.ok("-C", repo, "register", name, path, *extra)
    shown = cli.ok("-C", repo, "show", f"{name}@latest", "--json")
    data: dict[str, object] = json.loads(shown.stdout)
    return data


def test_init_in_an_empty_folder_creates_git_and_dvc_and_commits(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "new"
    target.mkdir()
    result = cli.ok("init", cwd=target)
    assert "Initialised an empty git repository" in result.stdout
    assert "created .modelreg.yaml" in result.stdout
    assert result.stderr == ""
    assert (target / ".dvc" / "config").is_file()
    assert git(target, "status", "--porcelain") == ""
    assert git(target, "log", "--format=%s").strip() == "modelreg: set up the registry"
    remote_dir = tmp_path / "home"
    del remote_dir
    config = (target / ".dvc" / "config").read_text()
    assert "modelreg" in config and "url" in config

    again = cli.ok("init", cwd=target)
    assert "already set up" in again.stdout
    assert len(git(target, "log", "--format=%H").split()) == 1


def test_init_with_remote_url_records_an_absolute_path(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "reg"
    cli.ok("-C", tmp_path, "init", "--remote", "store", cwd=tmp_path)
    del target
    config = (tmp_path / ".dvc" / "config").read_text()
    assert str(tmp_path / "store") in config


@pytest.mark.parametrize("remote", [None, "模型/stockage-données"])
def test_init_and_use_a_registry_whose_paths_are_not_ascii(
    cli: Cli, tmp_path: Path, files: FileMaker, remote: str | None
) -> None:
    target = tmp_path / "données" / "模型"
    target.mkdir(parents=True)
    extra = ["--remote", str(tmp_path / remote)] if remote else []
    result = cli.ok("-C", target, "init", *extra)
    assert result.stderr == ""
    assert git(target, "status", "--porcelain") == ""  # committed, nothing left staged
    cli.ok("-C", target, "register", "m", files("poids.bin", b"weights"))
    out = tmp_path / "sortie-é"
    cli.ok("-C", target, "get", "m@v0.1.0", "-o", out)
    assert (out / "poids.bin").read_bytes() == b"weights"
    cli.ok("-C", target, "verify")
    (listed,) = json.loads(cli.ok("-C", target, "remote", "list", "--json").stdout)["remotes"]
    if remote:
        assert listed["url"] == str(tmp_path / remote)


@pytest.mark.parametrize("failure", ["remote is a file", "DVC config is broken"])
def test_init_that_fails_leaves_the_index_and_work_tree_as_they_were(
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    assert_unchanged: Callable[[Path], AbstractContextManager[None]],
    failure: str,
) -> None:
    """`dvc init` stages its files in the user's index: a failure after it takes them
    back, and the files init made go too."""
    target = tmp_path / "work"
    target.mkdir()
    git(target, "init", "-q")
    (target / "wip.py").write_text("staged work\n")
    git(target, "add", "wip.py")
    remote = tmp_path / "store"
    if failure == "remote is a file":
        remote.write_text("not a folder\n")
        expected = f"{remote}: File exists"
    else:
        config_dir = tmp_path / "dvc-global"
        config_dir.mkdir()
        (config_dir / "config").write_text("[core]\n    no_such_key = 1\n")
        monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(config_dir))
        expected = "no_such_key"
    with assert_unchanged(target):
        failed = cli("-C", target, "init", "--remote", str(remote))
        assert failed.exit_code == 1 and expected in failed.stderr, failed
        assert len(failed.stderr.splitlines()) == 1
    assert sorted(p.name for p in target.iterdir()) == [".git", "wip.py"]


def test_register_writes_manifest_dvc_files_commit_and_annotated_tag(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    model = files("model.pkl", b"v1 weights")
    result = cli(
        "-C", repo, "register", "fraud-detector", model,
        "--description", "GBM scorer", "--license", "MIT", "--framework", "sklearn",
        "--label", "team=risk", "--metric", "auc=0.912", "--param", "max_depth=6",
        "--param", "balanced=true", "-m", "weekly retrain",
    )  # fmt: skip
    assert result.exit_code == 0, result
    assert "Registered fraud-detector v0.1.0" in result.stdout
    assert result.stderr == ""

    folder = repo / "models" / "fraud-detector"
    manifest = yaml.safe_load((folder / "model.yaml").read_text())
    assert list(manifest) == [
        "schema", "name", "version", "description", "author", "license", "framework",
        "labels", "metrics", "params", "artifacts", "created",
    ]  # fmt: skip
    assert manifest["version"] == "0.1.0"
    assert manifest["author"] == "Test User <test@example.com>"
    assert manifest["metrics"] == {"auc": 0.912}
    assert manifest["params"] == {"balanced": True, "max_depth": 6}
    [artifact] = manifest["artifacts"]
    assert artifact["path"] == "model.pkl"
    assert artifact["size"] == len(b"v1 weights")
    assert len(artifact["sha256"]) == 64 and len(artifact["md5"]) == 32
    assert (folder / "model.pkl").read_bytes() == b"v1 weights"
    assert "md5: " + artifact["md5"] in (folder / "model.pkl.dvc").read_text()

    assert git(repo, "cat-file", "-t", "fraud-detector@v0.1.0").strip() == "tag"
    message = parse_message(git(repo, "tag", "-l", "--format=%(contents)", "fraud-detector@v0.1.0"))
    assert message.subject == "Register fraud-detector v0.1.0"
    assert message.get("Event") == "register"
    assert message.get("Version") == "0.1.0"
    assert message.get("Reason") == "weekly retrain"
    import hashlib

    manifest_sha = hashlib.sha256((folder / "model.yaml").read_bytes()).hexdigest()
    assert message.get("Manifest-Sha256") == manifest_sha
    committed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(committed) == [
        "models/fraud-detector/.gitignore",
        "models/fraud-detector/model.pkl.dvc",
        "models/fraud-detector/model.yaml",
    ]
    assert git(repo, "status", "--porcelain") == ""


def test_versions_bump_minor_by_default_and_as_asked(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    versions = []
    for extra in ((), (), ("--bump", "patch"), ("--bump", "major"), ("--version", "v3.0.0-rc.1")):
        versions.append(register(cli, repo, "m", files(), *extra)["version"])
    assert versions == ["0.1.0", "0.2.0", "0.2.1", "1.0.0", "3.0.0-rc.1"]
    latest = cli.ok("-C", repo, "resolve", "m@latest").stdout.strip()
    assert latest == "3.0.0-rc.1"


def test_register_a_folder_keeps_its_layout(cli: Cli, repo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"w" * 1000)
    (folder / "tokenizer" / "vocab.txt").write_text("a\nb\n")
    (folder / "config.json").write_text("{}")
    data = register(cli, repo, "team/llm", folder)
    paths = [a["path"] for a in data["manifest"]["artifacts"]]  # type: ignore[index]
    assert paths == ["config.json", "tokenizer/vocab.txt", "weights.bin"]
    target = repo / "models" / "team" / "llm"
    assert (target / "tokenizer" / "vocab.txt").read_text() == "a\nb\n"
    assert (target / "tokenizer" / "vocab.txt.dvc").is_file()
    assert git(repo, "tag", "-l").split() == ["team/llm@v0.1.0"]


def test_register_in_place_file_under_models(cli: Cli, repo: Path) -> None:
    folder = repo / "models" / "inplace"
    folder.mkdir(parents=True)
    (folder / "m.onnx").write_bytes(b"onnx bytes")
    cli.ok("-C", repo, "register", "inplace", folder / "m.onnx")
    assert (folder / "m.onnx").read_bytes() == b"onnx bytes"
    (folder / "m.onnx").write_bytes(b"onnx bytes, retrained")
    cli.ok("-C", repo, "register", "inplace", folder / "m.onnx")
    shown = json.loads(cli.ok("-C", repo, "show", "inplace", "--json").stdout)
    assert shown["version"] == "0.2.0"
    assert shown["manifest"]["artifacts"][0]["size"] == len(b"onnx bytes, retrained")
    assert git(repo, "status", "--porcelain") == ""


def test_register_commits_only_registry_files_and_keeps_user_changes(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    (repo / "train.py").write_text("print('v1')\n")
    (repo / "notes.md").write_text("notes\n")
    git(repo, "add", "train.py", "notes.md")
    git(repo, "commit", "-qm", "user files")
    (repo / "train.py").write_text("print('v2, unstaged')\n")
    (repo / "notes.md").write_text("notes, staged\n")
    git(repo, "add", "notes.md")
    (repo / "scratch.txt").write_text("untracked\n")
    status_before = git(repo, "status", "--porcelain")

    cli.ok("-C", repo, "register", "m", files())

    assert git(repo, "status", "--porcelain") == status_before
    committed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert all(p.startswith("models/m/") for p in committed)
    assert git(repo, "diff", "--cached", "--name-only").split() == ["notes.md"]
    assert (repo / "train.py").read_text() == "print('v2, unstaged')\n"


def test_list_shows_latest_and_stage_holders(cli: Cli, repo: Path, files: FileMaker) -> None:
    for _ in range(3):
        cli.ok("-C", repo, "register", "a", files())
    cli.ok("-C", repo, "register", "b", files())
    cli.ok("-C", repo, "promote", "a@v0.2.0", "--to", "production")
    cli.ok("-C", repo, "promote", "a@v0.3.0", "--to", "staging")
    table = cli.ok("-C", repo, "list")
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["model", "latest", "#dev", "#staging", "#production", "versions"]
    assert lines[1].split() == ["a", "v0.3.0", "-", "v0.3.0", "v0.2.0", "3"]
    assert lines[2].split() == ["b", "v0.1.0", "-", "-", "-", "1"]
    data = json.loads(cli.ok("-C", repo, "list", "--json").stdout)
    assert data == {
        "models": [
            {
                "name": "a",
                "latest": "0.3.0",
                "stages": {"production": "0.2.0", "staging": "0.3.0"},
                "versions": 3,
                "deprecated": False,
            },
            {"name": "b", "latest": "0.1.0", "stages": {}, "versions": 1, "deprecated": False},
        ]
    }


def test_promote_and_rollback_write_new_tags_and_never_move_one(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    for _ in range(3):
        cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production", "-m", "first release")
    cli.ok("-C", repo, "promote", "m@0.2.0", "--to", "production")
    cli.ok("-C", repo, "promote", "m@v0.3.0", "--to", "production")
    tags_before = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")

    result = cli.ok("-C", repo, "rollback", "m", "--stage", "production", "-m", "latency")
    assert "Rolled back m production from v0.3.0 to v0.2.0: tag m#production#4" in result.stdout
    assert cli.ok("-C", repo, "resolve", "m#production").stdout == "0.2.0\n"
    tags_after = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")
    assert set(tags_before.splitlines()) < set(tags_after.splitlines())

    # A second rollback does not return to the version just rolled away from.
    cli.ok("-C", repo, "rollback", "m", "--stage", "production")
    assert cli.ok("-C", repo, "resolve", "m#production").stdout == "0.1.0\n"
    cli.ok("-C", repo, "rollback", "m", "--stage", "production", "--to", "0.3.0")
    assert cli.ok("-C", repo, "resolve", "m#production").stdout == "0.3.0\n"

    message = parse_message(git(repo, "tag", "-l", "--format=%(contents)", "m#production#4"))
    assert message.get("Event") == "rollback"
    assert message.get("Stage") == "production"
    assert message.get("Version") == "0.2.0"
    assert message.get("Previous") == "0.3.0"
    assert message.get("Reason") == "latency"
    assert git(repo, "rev-parse", "m#production#4^{commit}") == git(
        repo, "rev-parse", "m@v0.2.0^{commit}"
    )


def test_promote_to_the_current_holder_is_a_no_op(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "staging")
    again = cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "staging")
    assert "already holds staging" in again.stderr
    assert git(repo, "tag", "-l", "m#*").split() == ["m#staging#1"]


def test_history_lists_every_event_with_who_and_why(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files(), "-m", "baseline")
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.2.0", "--to", "production", "-m", "passed shadow test")
    cli.ok("-C", repo, "rollback", "m", "--stage", "production", "--to", "0.1.0", "-m", "oops")
    cli.ok("-C", repo, "deprecate", "m@v0.2.0", "-m", "leaky labels")
    data = json.loads(cli.ok("-C", repo, "history", "m", "--json").stdout)["events"]
    summary = [(e["event"], e["version"], e["stage"], e["reason"]) for e in data]
    assert summary == [
        ("register", "0.1.0", None, "baseline"),
        ("register", "0.2.0", None, None),
        ("assign", "0.2.0", "production", "passed shadow test"),
        ("rollback", "0.1.0", "production", "oops"),
        ("deregister", "0.2.0", None, "leaky labels"),
    ]
    assert {e["author"] for e in data} == {"Test User"}
    assert all(e["time"].endswith("Z") for e in data)
    reverse = json.loads(cli.ok("-C", repo, "history", "--reverse", "--json").stdout)["events"]
    assert [e["tag"] for e in reverse] == [e["tag"] for e in data][::-1]
    table = cli.ok("-C", repo, "history", "m").stdout
    assert "passed shadow test" in table and "rollback" in table


def test_show_by_stage_and_version(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files(), "--metric", "auc=0.8")
    cli.ok("-C", repo, "register", "m", files(), "--metric", "auc=0.9")
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    by_stage = json.loads(cli.ok("-C", repo, "show", "m#production", "--json").stdout)
    assert by_stage["version"] == "0.1.0"
    assert by_stage["stages"] == ["production"]
    assert by_stage["manifest"]["metrics"] == {"auc": 0.8}
    assert by_stage["manifest_sha256"] == by_stage["recorded_sha256"]
    text = cli.ok("-C", repo, "show", "m@v0.2.0").stdout
    assert text.startswith("m v0.2.0")
    assert "auc=0.9" in text and "model.pkl" in text


def test_deprecate_model_hides_it_and_deregister_drops_its_stage(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    cli.ok("-C", repo, "register", "old", files())
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    cli.ok("-C", repo, "promote", "m@v0.2.0", "--to", "production")

    out = cli.ok("-C", repo, "deprecate", "m@v0.2.0")
    assert "Deregistered m v0.2.0: tag m@v0.2.0!#3" in out.stdout
    assert "no longer holds production" in out.stderr
    assert cli.ok("-C", repo, "resolve", "m#production").stdout == "0.1.0\n"
    assert cli.ok("-C", repo, "resolve", "m@latest").stdout == "0.1.0\n"

    cli.ok("-C", repo, "deprecate", "old", "-m", "replaced by m")
    names = [m["name"] for m in json.loads(cli.ok("-C", repo, "list", "--json").stdout)["models"]]
    assert names == ["m"]
    every = json.loads(cli.ok("-C", repo, "list", "--all", "--json").stdout)["models"]
    assert [(m["name"], m["deprecated"]) for m in every] == [("m", False), ("old", True)]
    assert git(repo, "tag", "-l", "old@*").split() == ["old@deprecated#1", "old@v0.1.0"]


def test_checkout_restores_a_version_and_back(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"first"))
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"second"))
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    folder = repo / "models" / "m"
    result = cli.ok("-C", repo, "checkout", "m#production")
    assert "Checked out m v0.1.0" in result.stdout
    assert (folder / "model.pkl").read_bytes() == b"first"
    assert yaml.safe_load((folder / "model.yaml").read_text())["version"] == "0.1.0"
    # A second checkout from a checked-out version is allowed: nothing unregistered is lost.
    cli.ok("-C", repo, "checkout", "m@v0.2.0")
    assert (folder / "model.pkl").read_bytes() == b"second"
    assert git(repo, "status", "--porcelain") == ""


def test_checkout_a_version_with_other_files(
    cli: Cli, repo: Path, files: FileMaker, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "a.bin").write_bytes(b"a")
    (export / "b.bin").write_bytes(b"b")
    cli.ok("-C", repo, "register", "m", export)
    cli.ok("-C", repo, "register", "m", files("c.bin", b"c"))
    folder = repo / "models" / "m"
    assert sorted(p.name for p in folder.iterdir()) == [
        ".gitignore",
        "c.bin",
        "c.bin.dvc",
        "model.yaml",
    ]
    cli.ok("-C", repo, "checkout", "m@v0.1.0")
    assert sorted(p.name for p in folder.iterdir()) == [
        ".gitignore", "a.bin", "a.bin.dvc", "b.bin", "b.bin.dvc", "model.yaml",
    ]  # fmt: skip
    assert (folder / "b.bin").read_bytes() == b"b"


def test_get_writes_verified_files(cli: Cli, repo: Path, files: FileMaker, tmp_path: Path) -> None:
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"the bytes"))
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    out = tmp_path / "deploy"
    result = cli.ok("-C", repo, "get", "m#production", "-o", out)
    assert "sha256 verified" in result.stdout
    assert (out / "model.pkl").read_bytes() == b"the bytes"
    assert sorted(p.name for p in out.iterdir()) == ["model.pkl"]


def test_get_of_a_folder_version_with_jobs(
    cli: Cli, repo: Path, files: FileMaker, tmp_path: Path
) -> None:
    folder = files("a.bin", b"a").parent
    (folder / "sub").mkdir()
    for name in ("b.bin", "c.bin", "sub/d.bin"):
        (folder / name).write_bytes(name.encode())
    cli.ok("-C", repo, "register", "m", folder)
    out = tmp_path / "deploy"
    result = cli.ok("-C", repo, "get", "m@v0.1.0", "-o", out, "--jobs", "3")
    assert "4 file(s)" in result.stdout and "sha256 verified" in result.stdout
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.bin")} == {
        "a.bin": b"a", "b.bin": b"b.bin", "c.bin": b"c.bin", "sub/d.bin": b"sub/d.bin",
    }  # fmt: skip
    again = cli("-C", repo, "get", "m@v0.1.0", "-o", tmp_path / "other", "--jobs", "0")
    assert again.exit_code == 2 and "--jobs" in again.stderr, again
    assert not (tmp_path / "other").exists()


def test_get_from_another_registry_path(
    cli: Cli, repo: Path, files: FileMaker, tmp_path: Path
) -> None:
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"remote bytes"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli.ok("get", "m@latest", "--repo", repo, "-o", elsewhere / "out", cwd=elsewhere)
    assert (elsewhere / "out" / "model.pkl").read_bytes() == b"remote bytes"


def test_get_from_a_git_url_uses_the_dvc_remote(
    cli: Cli, repo: Path, files: FileMaker, tmp_path: Path
) -> None:
    cli.ok("-C", repo, "register", "m", files("model.pkl", b"pushed bytes"))
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    cli.ok("-C", repo, "push")
    out = tmp_path / "out"
    cli.ok("get", "m@v0.1.0", "--repo", f"file://{bare}", "-o", out, cwd=tmp_path)
    assert (out / "model.pkl").read_bytes() == b"pushed bytes"


def test_resolve_prints_only_the_version(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    result = cli.ok("-C", repo, "resolve", "m#production")
    assert (result.stdout, result.stderr) == ("0.1.0\n", "")
    data = json.loads(cli.ok("-C", repo, "resolve", "m#production", "--json").stdout)
    assert data["version"] == "0.1.0" and len(data["commit"]) == 40


def test_commands_work_from_a_subdirectory(cli: Cli, repo: Path, files: FileMaker) -> None:
    cli.ok("-C", repo, "register", "m", files())
    sub = repo / "models" / "m"
    assert cli.ok("resolve", "m@latest", cwd=sub).stdout == "0.1.0\n"
