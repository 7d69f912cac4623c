"""ops/register.py: register, and the checks of the request before anything is written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from modelreg import InvalidNameError, PolicyError, Registry
from modelreg.cli import cli_words
from modelreg.errors import InvalidReferenceError
from modelreg.tags import parse_message

from ..conftest import Cli, Clock, FileMaker, Unchanged, assert_user_error, git


def register(cli: Cli, repo: Path, name: str, path: Path, *extra: str) -> dict[str, object]:
    cli.ok("-C", repo, "register", name, path, *extra)
    shown = cli.ok("-C", repo, "show", f"{name}@latest", "--json")
    data: dict[str, object] = json.loads(shown.stdout)
    return data


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


def test_nested_model_names_are_refused(registry: Registry, files: FileMaker) -> None:
    registry.register("team", [files()])
    with pytest.raises(InvalidNameError, match="would share the folder"):
        registry.register("team/fraud", [files()])
    registry.register("group/fraud", [files()])
    with pytest.raises(InvalidNameError, match="would share the folder"):
        registry.register("group", [files()])


def test_code_commit_is_resolved_to_a_full_id(registry: Registry, files: FileMaker) -> None:
    head = git(registry.root, "rev-parse", "HEAD").strip()
    result = registry.register("fr", [files()], code_commit="HEAD")
    assert result.manifest.lineage is not None
    assert result.manifest.lineage.code_commit == head
    assert Registry(registry.root).show("fr").manifest is not None
    elsewhere = registry.register("fr", [files()], code_commit="3F2A9C1")
    assert elsewhere.manifest.lineage and elsewhere.manifest.lineage.code_commit == "3f2a9c1"
    with pytest.raises(InvalidReferenceError, match="code commit 'not a commit'") as refused:
        registry.register("fr", [files()], code_commit="not a commit")
    # The library names the operation's parameter; the CLI says its flag.
    assert cli_words(refused.value)[0].startswith("--code-commit 'not a commit'")


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


def test_register_a_version_with_a_dependency(registry: Registry, files: FileMaker) -> None:
    registry.register("embedder", [files()], version="2.1.0")
    result = registry.register("classifier", [files()], dependencies=["embedder@>=2.0.0,<3.0.0"])
    assert [(d.name, d.version) for d in result.manifest.dependencies] == [
        ("embedder", ">=2.0.0,<3.0.0")
    ]
    refused = r"no registered version of embedder satisfies '\^3\.0\.0'"
    with pytest.raises(PolicyError, match=refused):
        registry.register("classifier", [files()], dependencies=["embedder@^3.0.0"])
    loose = registry.register(
        "classifier", [files()], dependencies=["embedder@^3.0.0"], allow_unresolved=True
    )
    assert loose.version == "0.2.0"


def test_register_records_lineage(registry: Registry, files: FileMaker, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n")
    result = registry.register("m", [files()], data=[data], code_commit="3f2a9c1")
    lineage = result.manifest.lineage
    assert lineage is not None
    assert lineage.code_commit == "3f2a9c1"
    assert lineage.data[0].path == str(data.resolve())
    assert lineage.data[0].md5 == hashlib.md5(b"a,b\n1,2\n").hexdigest()


def test_register_takes_one_path_as_well_as_a_list(
    registry: Registry, files: FileMaker, clock: Clock
) -> None:
    """A single path (str or Path) is one file, not a sequence of its letters."""
    one = registry.register("base", str(files("model.pkl", b"one")))
    assert [a.path for a in one.manifest.artifacts] == ["model.pkl"]
    clock.tick()
    two = registry.register("m", files("weights.bin", b"two"), dependencies="base@^0.1.0")
    assert [a.path for a in two.manifest.artifacts] == ["weights.bin"]
    assert [d.name for d in two.manifest.dependencies] == ["base"]


def test_register_refuses_an_unknown_licence(registry: Registry, files: FileMaker) -> None:
    from modelreg.errors import ManifestError

    with pytest.raises(ManifestError, match="did you mean MIT"):
        registry.register("m", [files()], license="MITT")
    assert registry.register("m", [files()], license="Apache-2.0 OR MIT").version == "0.1.0"
