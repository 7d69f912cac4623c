"""gitrepo.py: how git's own refusals and layouts reach the user."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelreg import Registry

from .conftest import Cli, FileMaker, Unchanged, assert_user_error


def test_a_separate_git_dir_on_another_path(tmp_path: Path, files: FileMaker) -> None:
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(
        ["git", "init", "-q", f"--separate-git-dir={tmp_path / 'elsewhere.git'}", str(work)],
        check=True,
    )
    registry, _ = Registry.init(work, remote=str(tmp_path / "store"))
    registry.register("fr", [files()])
    assert registry.register("fr", [files()]).version == "0.2.0"


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


def test_publications_are_looked_for_in_packed_refs_only_as_far_as_needed(tmp_path: Path) -> None:
    """A show in a registry that never published starts no git process for the notes,
    and reads a sorted packed-refs only up to where the notes ref would be."""
    from modelreg.git.notes import OCI_NOTES, _packed_ref_named

    packed = tmp_path / "packed-refs"
    oid = "a" * 40
    tags = "".join(f"{oid} refs/tags/m{i}@v0.1.0\n^{'b' * 40}\n" for i in range(50))
    head = "# pack-refs with: peeled fully-peeled sorted \n"
    packed.write_text(head + f"{oid} refs/heads/main\n" + tags)
    assert not _packed_ref_named(packed, OCI_NOTES)
    packed.write_text(head + f"{oid} refs/heads/main\n{oid} {OCI_NOTES}\n" + tags)
    assert _packed_ref_named(packed, OCI_NOTES)
    # Not marked sorted (an old git, a hand edit): the whole file is read.
    packed.write_text("# pack-refs with: peeled \n" + tags + f"{oid} {OCI_NOTES}\n")
    assert _packed_ref_named(packed, OCI_NOTES)
    packed.write_text("# pack-refs with: peeled \n" + tags)
    assert not _packed_ref_named(packed, OCI_NOTES)


def _git_says(where: Path) -> tuple[Path, Path, Path] | None:
    done = subprocess.run(
        ["git", "rev-parse", "--absolute-git-dir", "--git-common-dir", "--show-toplevel"],
        cwd=where,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) != 3 or not lines[2]:
        return None
    common = Path(lines[1]) if Path(lines[1]).is_absolute() else (where / lines[1]).resolve()
    return Path(lines[2]), Path(lines[0]), common


def _layouts(tmp_path: Path) -> dict[str, Path]:
    """Folders where a repository is found plainly, and where only git can tell."""

    def git(*args: str | Path) -> None:
        subprocess.run(["git", *map(str, args)], check=True, capture_output=True)

    outer = tmp_path / "outer"
    git("init", "-q", outer)
    (outer / "deep" / "er").mkdir(parents=True)
    git("init", "-q", outer / "inner")
    git("-C", outer, "commit", "-q", "--allow-empty", "-m", "first")
    git("-C", outer, "worktree", "add", "-q", tmp_path / "linked")
    git("init", "-q", "--bare", tmp_path / "bare.git")
    git("init", "-q", "--separate-git-dir", tmp_path / "sep.git", tmp_path / "sep")
    (tmp_path / "link").symlink_to(outer / "deep")
    git("init", "-q", tmp_path / "moved")
    git("-C", tmp_path / "moved", "config", "core.worktree", str(outer))
    (tmp_path / "none").mkdir()
    return {
        "root": outer,
        "subfolder": outer / "deep" / "er",
        "nested repository": outer / "inner",
        "inside .git": outer / ".git" / "refs",
        "linked worktree": tmp_path / "linked",
        "bare repository": tmp_path / "bare.git",
        "separate git dir": tmp_path / "sep",
        "through a symlink": tmp_path / "link",
        "core.worktree elsewhere": tmp_path / "moved",
        "no repository": tmp_path / "none",
    }


PLAINLY = {"root", "subfolder", "nested repository", "through a symlink"}


def test_a_repository_is_found_without_git_only_where_git_would_find_the_same(
    tmp_path: Path,
) -> None:
    from modelreg.gitrepo import GitRepo, _plainly_found

    for name, where in _layouts(tmp_path).items():
        plainly = _plainly_found(where)
        assert (plainly is not None) == (name in PLAINLY), name
        if plainly is not None:
            assert (plainly, plainly / ".git", plainly / ".git") == _git_says(where), name
        said = _git_says(where)
        if said is not None:
            repo = GitRepo.discover(where)
            assert (repo.root, repo.git_dir, repo.common_dir) == said, name


def test_a_tree_that_does_not_parse_is_refused() -> None:
    from modelreg.git.trees import parse_tree, serialize_tree

    entries = {b"b": (b"100644", b"\1" * 20), b"a": (b"40000", b"\2" * 20)}
    data = serialize_tree(entries)
    assert data.startswith(b"40000 a\0") and parse_tree(data, 20) == entries
    for broken in (data[:-1], data + b"100644 c", b" name\0" + b"\3" * 20):
        with pytest.raises(ValueError):
            parse_tree(broken, 20)


def test_git_is_asked_when_its_variables_say_where_the_repository_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelreg.gitrepo import GitRepo, _plainly_found

    places = _layouts(tmp_path)
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "sep.git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path / "sep"))
    assert _plainly_found(places["root"]) is None
    repo = GitRepo.discover(places["root"])
    assert repo.git_dir == tmp_path / "sep.git"


def _tree_git_would_make(root: Path, parent: str, paths: list[str]) -> str:
    """The tree ``git add -A -- paths`` on ``parent`` gives, in a scratch index."""
    env = {**os.environ, "GIT_INDEX_FILE": str(root / ".git" / "scratch-index")}

    def run(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    run("read-tree", parent)
    known = set(run("ls-files", "-z").split("\0"))
    # A pathspec that matches nothing is an error to git add: there is nothing to do.
    matching = [p for p in paths if (root / p).exists() or any(k.startswith(p) for k in known)]
    if matching:
        run("add", "-A", "--", *matching)
    tree = run("write-tree")
    (root / ".git" / "scratch-index").unlink()
    return tree.strip()


def test_commits_of_edited_trees_hold_what_git_add_would(tmp_path: Path) -> None:
    """Only the trees on the changed paths are rewritten: each commit's tree must be
    the one ``git add`` of the same paths gives."""
    from modelreg.gitrepo import GitRepo

    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for i in range(30):
        (root / "models" / f"m{i}").mkdir(parents=True)
        (root / "models" / f"m{i}" / "model.yaml").write_text(f"name: m{i}\n")
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "base"], check=True)
    repo = GitRepo.discover(root)
    changes: list[tuple[str, str | None]] = [
        ("models/m3/model.yaml", "name: m3\nversion: 2\n"),  # changed
        ("models/new/model.yaml", "name: new\n"),  # added, in a new folder
        ("models/team/deep/model.yaml", "name: team/deep\n"),  # two new folders
        ("models/m4/model.yaml", None),  # removed
        ("models/m5/tab\there.yaml", "a name git quotes\n"),  # update-index reads it
        ("models/m3/model.yaml", "name: m3\nversion: 3\n"),  # the same file again
        ("models/m6/run.sh", "#!/bin/sh\n"),  # an executable: update-index reads it
        ("models/m7/model.yaml", None),  # the folder's only file: the folder goes
        ("models/absent/model.yaml", None),  # removing what was never there
        ("models/m8", "a file where a folder was\n"),  # the folder's files go with it
        ("models/m8", None),
        ("models/team/deep/model.yaml", None),  # two folders emptied at once
        ("models/m9/a b:c.yaml", "spaces and a colon\n"),
        ("top.yaml", "at the root\n"),
        ("models/m1.yaml", "sorts before the folder m1\n"),  # "." < "/"
        ("models/m1-x/model.yaml", "sorts before m1 too\n"),  # "-" < "/"
        ("models/m10/model.yaml", None),  # m10 sorts after m1's "/"... gone now
    ]
    for n, (path, text) in enumerate(changes):
        head = repo.head()
        assert head is not None
        target = root / path
        if text is None:
            target.unlink(missing_ok=True)
        else:
            if target.is_dir():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            if path.endswith(".sh"):
                target.chmod(0o755)
        commit = repo.commit_paths([path], f"change {n}", parent=head)
        repo.advance_head(commit, head, "test")
        tree = repo.run("rev-parse", f"{commit}^{{tree}}")
        assert tree == _tree_git_would_make(root, head, [path]), path
    # Several paths in several folders at once, as a registration commits them.
    several = ["models/m11/model.yaml", "models/m11/.gitignore", "models/m12/model.yaml", "x/y"]
    for path in several:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(f"{path}\n")
    (root / "models/m12/model.yaml").unlink()
    head = repo.head()
    assert head is not None
    commit = repo.commit_paths(several, "several", parent=head)
    tree = repo.run("rev-parse", f"{commit}^{{tree}}")
    assert tree == _tree_git_would_make(root, head, several)
    assert repo.run("fsck", "--strict", "--no-dangling") == ""
    assert repo.run("show", "HEAD:models/m6/run.sh") == "#!/bin/sh"
    assert "100755" in repo.run("ls-tree", "HEAD", "models/m6/run.sh")


def test_index_answers_follow_the_index_when_it_changes_behind_them(tmp_path: Path) -> None:
    """One listing of the index answers the questions that follow about the paths it
    covers, until git writes the index again; staged changes are what git's own
    ``diff --cached`` says, in every state below."""
    from modelreg.gitrepo import GitRepo

    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for name in ("a", "b"):
        (root / "models" / name).mkdir(parents=True)
        (root / "models" / name / "model.yaml").write_text(f"name: {name}\n")
    (root / ".dvc").mkdir()
    (root / ".dvc" / "config").write_text("")
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "base"], check=True)
    repo = GitRepo.discover(root)
    head = repo.head()
    assert head is not None
    own = ["models/a/model.yaml", "models/a/model.pkl.dvc"]

    def git_says_staged() -> bool:
        done = subprocess.run(
            ["git", "-C", str(root), "diff", "--cached", "--quiet", head, "--", *own]
        )
        return done.returncode != 0

    repo.list_index([".dvc", "models/a"])
    assert repo.index_entries(".dvc") == [("100644", ".dvc/config")]
    assert repo.tracked_files(None, "models/a") == ["models/a/model.yaml"]
    assert repo.index_differs(head, own) is git_says_staged() is False
    steps = [
        ("models/a/model.pkl.dvc", "outs: []\n"),  # a new file staged
        ("models/a/model.yaml", "name: a\nchanged: true\n"),  # a changed file staged
    ]
    for path, text in steps:
        (root / path).write_text(text)
        subprocess.run(["git", "-C", str(root), "add", path], check=True)
        assert path in repo.tracked_files(None, "models/a")
        assert repo.index_differs(head, own) is git_says_staged() is True
    subprocess.run(["git", "-C", str(root), "reset", "-q"], check=True)
    assert repo.tracked_files(None, "models/a") == ["models/a/model.yaml"]
    assert repo.index_differs(head, own) is git_says_staged() is False
    subprocess.run(["git", "-C", str(root), "rm", "-q", "--cached", ".dvc/config"], check=True)
    assert repo.index_entries(".dvc") == []
    assert repo.index_entries("models/b") == [("100644", "models/b/model.yaml")]


def test_the_index_learns_a_commit_of_known_blobs_as_git_reset_would(tmp_path: Path) -> None:
    """After commit_paths, sync_index writes the entries it knows (a file added, one
    changed, one removed) and the user's index then matches HEAD for exactly those
    paths; a path of the user's staged meanwhile stays staged."""
    from modelreg.gitrepo import GitRepo

    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "models" / "m").mkdir(parents=True)
    for name in ("model.yaml", "old.dvc"):
        (root / "models" / "m" / name).write_text(f"{name}\n")
    (root / "notes.txt").write_text("mine\n")
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "base"], check=True)
    repo = GitRepo.discover(root)
    (root / "notes.txt").write_text("mine, staged\n")
    subprocess.run(["git", "-C", str(root), "add", "notes.txt"], check=True)
    (root / "models" / "m" / "model.yaml").write_text("changed\n")
    (root / "models" / "m" / "new.dvc").write_text("added\n")
    (root / "models" / "m" / "old.dvc").unlink()
    paths = ["models/m/model.yaml", "models/m/new.dvc", "models/m/old.dvc"]
    head = repo.head()
    assert head is not None
    commit = repo.commit_paths(paths, "change", parent=head)
    repo.advance_head(commit, head, "test")
    repo.sync_index(paths)
    listed = repo.run("ls-files", "-s", "--", "models")
    in_head = repo.run("ls-tree", "-r", "HEAD", "--", "models")
    assert [line.split()[1] for line in listed.splitlines()] == [
        line.split()[2] for line in in_head.splitlines()
    ]
    assert repo.run("status", "--porcelain") == "M  notes.txt"


_NAMES = st.sampled_from(["a", "b", "b.x", "b-x", "m 1", "model-1", "model-10", "z"])
_OIDS = st.binary(min_size=20, max_size=20)
_MODES = st.sampled_from([b"100644", b"40000", b"120000"])


@settings(max_examples=300, deadline=None)
@given(
    tree=st.dictionaries(_NAMES, st.tuples(_MODES, _OIDS), max_size=6),
    changes=st.dictionaries(_NAMES, st.tuples(_MODES, st.none() | _OIDS), max_size=3),
)
def test_a_tree_spliced_in_place_is_the_tree_sorted_again(
    tree: dict[str, tuple[bytes, bytes]], changes: dict[str, tuple[bytes, bytes | None]]
) -> None:
    """Changing entries in place gives the same bytes as parsing, applying and sorting
    the whole tree again, or declines (a new name, a change of kind)."""
    from modelreg.git.trees import apply, parse_tree, serialize_tree, splice

    entries = {k.encode(): v for k, v in tree.items()}
    data = serialize_tree(entries)
    wanted = {k.encode(): v for k, v in changes.items()}
    spliced = splice(data, 20, wanted)
    if spliced is not None:
        assert spliced == serialize_tree(apply(parse_tree(data, 20), wanted))


def test_a_name_inside_another_entry_is_not_taken_for_it() -> None:
    """An entry whose name ends with another entry's mode and name, and whose object
    id is that entry's: the pattern steps over whole entries, so it finds the real one."""
    from modelreg.git.trees import serialize_tree, splice

    oid = b"\7" * 20
    decoy = b"a 40000 m"  # its bytes hold "40000 m\0" + oid: what the real entry holds
    entries = {decoy: (b"100644", oid), b"m": (b"40000", oid)}
    data = serialize_tree(entries)
    new = b"\x08" * 20
    spliced = splice(data, 20, {b"m": (b"40000", new)})
    assert spliced == serialize_tree({decoy: (b"100644", oid), b"m": (b"40000", new)})


def test_a_long_lived_reader_answers_as_git_does_and_outlives_its_git(tmp_path: Path) -> None:
    """A server's one ``cat-file --batch`` (:class:`ObjectReader`) answers what a
    ``cat-file`` of its own would: contents at an object id, None where there is no
    such path; an object committed after it started is found; a name whose meaning
    moves (``HEAD:``) or that a line break would split never goes to it; a git
    killed under it is started again, and one kept after a repack is replaced (it
    would hold the deleted packs open); once closed, or busy, reads go their own way."""
    from modelreg.gitrepo import GitRepo, ObjectReader

    root = tmp_path / "repo"
    GitRepo.init(root)

    def commit(text: str) -> str:
        (root / "f.txt").write_text(text)
        subprocess.run(["git", "-C", str(root), "add", "f.txt"], check=True)
        subprocess.run(["git", "-C", str(root), "commit", "-qm", text], check=True)
        return (
            subprocess.run(
                ["git", "-C", str(root), "rev-parse", "HEAD"], check=True, capture_output=True
            )
            .stdout.decode()
            .strip()
        )

    reader = ObjectReader(root, root / ".git")

    def sharing() -> GitRepo:
        repo = GitRepo.discover(root)
        repo.objects = reader
        return repo

    def pid() -> int:
        assert reader._process is not None
        return reader._process.pid

    first = commit("one\n")
    try:
        specs = [f"{first}:f.txt", f"{first}:missing", f"{first}:", "0" * 40]
        assert sharing().read_files(specs) == GitRepo.discover(root).read_files(specs)
        assert sharing().read_files(specs)[f"{first}:f.txt"] == b"one\n"
        started = pid()

        second = commit("two\n")  # an object git did not have when it started
        assert GitRepo.discover(root).objects is None
        assert sharing().read_files([f"{second}:f.txt", "HEAD:f.txt"]) == {
            f"{second}:f.txt": b"two\n",
            "HEAD:f.txt": b"two\n",
        }
        assert pid() == started  # HEAD:f.txt went through its own git
        split = f"{first}:f.txt\n{second}:f.txt"
        assert not reader.takes([("k", split)]) and not reader.takes([("k", f"{first}:a\0")])
        assert sharing().read_files([f"{first}:f.txt"]) == {f"{first}:f.txt": b"one\n"}

        assert reader._process is not None
        reader._process.kill()
        reader._process.wait()
        assert sharing().read_files([f"{first}:f.txt"]) == {f"{first}:f.txt": b"one\n"}
        assert pid() != started
        killed = pid()

        subprocess.run(["git", "-C", str(root), "repack", "-a", "-d", "-q"], check=True)
        assert sharing().read_files([f"{second}:f.txt"]) == {f"{second}:f.txt": b"two\n"}
        assert pid() != killed

        with reader._guard:  # busy (a git stuck on something): a read of its own
            assert sharing().read_files([f"{first}:f.txt"]) == {f"{first}:f.txt": b"one\n"}
    finally:
        reader.close()
    assert reader._process is None
    assert sharing().read_files([f"{second}:f.txt"]) == {f"{second}:f.txt": b"two\n"}
    assert reader._process is None
