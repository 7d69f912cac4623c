"""manifests.py: the one reader of manifests from git, and its policy for broken ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelreg.errors import ManifestError
from modelreg.gitrepo import GitRepo
from modelreg.manifest import Manifest, dumps
from modelreg.manifests import OnBroken, read_manifest, read_manifests
from modelreg.versions import Version

from .conftest import git

GOOD = "models/good/model.yaml"
BROKEN = "models/broken/model.yaml"
ABSENT = "models/absent/model.yaml"


@pytest.fixture
def committed(tmp_path: Path) -> tuple[GitRepo, str]:
    """A repository whose HEAD holds one valid manifest and one broken one."""
    repo = GitRepo.init(tmp_path / "repo")
    manifest = Manifest(
        name="good", version=Version.parse("1.2.0"), artifacts=(), created="2026-01-01T00:00:00Z"
    )
    for path, data in ((GOOD, dumps(manifest)), (BROKEN, b"schema: [unclosed\n")):
        (repo.root / path).parent.mkdir(parents=True)
        (repo.root / path).write_bytes(data)
    git(repo.root, "add", "models")
    git(repo.root, "commit", "-q", "-m", "manifests")
    head = repo.head()
    assert head is not None
    return repo, head


def test_found_missing_and_broken_under_each_policy(committed: tuple[GitRepo, str]) -> None:
    repo, head = committed
    specs = [f"{head}:{GOOD}", f"{head}:{BROKEN}", f"{head}:{ABSENT}"]
    skipped = read_manifests(repo, specs, on_broken=OnBroken.SKIP)
    assert list(skipped.found) == [specs[0]] and skipped.broken == {}
    good = skipped.found[specs[0]]
    assert good.manifest.name == "good" and good.data == (repo.root / GOOD).read_bytes()
    collected = read_manifests(repo, specs, on_broken=OnBroken.COLLECT)
    assert list(collected.found) == [specs[0]]
    assert list(collected.broken) == [specs[1]]
    assert collected.broken[specs[1]].startswith(f"{specs[1]}: not valid YAML")  # names REV:PATH
    with pytest.raises(ManifestError, match=f"^{head}:{BROKEN}: not valid YAML"):
        read_manifests(repo, specs, on_broken=OnBroken.RAISE)


def test_mentioning_leaves_out_what_does_not_name_it(committed: tuple[GitRepo, str]) -> None:
    repo, head = committed
    specs = [f"{head}:{GOOD}", f"{head}:{BROKEN}"]
    read = read_manifests(repo, specs, on_broken=OnBroken.RAISE, mentioning="nobody")
    assert read.found == {} and read.broken == {}  # the broken one is not even parsed
    assert list(read_manifests(repo, specs, on_broken=OnBroken.SKIP, mentioning="good").found)


def test_one_version_names_the_file_alone(committed: tuple[GitRepo, str]) -> None:
    repo, head = committed
    assert read_manifest(repo, head, ABSENT, on_broken=OnBroken.RAISE) is None
    assert read_manifest(repo, head, BROKEN, on_broken=OnBroken.SKIP) is None
    with pytest.raises(ManifestError, match=f"^{BROKEN}: not valid YAML"):
        read_manifest(repo, head, BROKEN, on_broken=OnBroken.RAISE)
    good = read_manifest(repo, head, GOOD, on_broken=OnBroken.RAISE)
    assert good is not None
    assert good.describes("good", "1.2.0")
    assert not good.describes("good", "1.3.0") and not good.describes("other", "1.2.0")
    assert not good.describes("good", None)
