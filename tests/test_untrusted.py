"""Nothing a pushed commit or tag can do to the person who pulls it (DESIGN.md,
"Untrusted input").

Through a real bare remote: an attacker clone pushes a hostile entry, a victim
clone runs pull, checkout, get, register, ``doctor --repair``, check and verify,
and a sentinel folder beside the repositories (a few files, a fake
site-packages, a ``.gitignore``) proves nothing outside was created, changed or
deleted. Every victim command exits 0 or 1, never with a traceback.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import Cli, Result, git

SENTINEL_FILES = {
    "notes.txt": b"keep me\n",
    "site-packages/keep.pth": b"# a virtual environment's path file\n",
    "site-packages/pkg/__init__.py": b"",
    ".gitignore": b"/evil.pth\n",  # what a .dvc outs path climbing here would edit
    "junk.modelreg-1": b"not modelreg's\n",  # what doctor --repair would remove
}


def sentinel_state(root: Path) -> dict[str, tuple[int, bytes | str | None]]:
    """Every path below ``root``: its mode and its bytes (files) or target (links)."""
    out: dict[str, tuple[int, bytes | str | None]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = os.lstat(path)
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                out[rel] = (info.st_mode, os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                out[rel] = (info.st_mode, path.read_bytes())
            else:
                out[rel] = (info.st_mode, None)
    return out


@dataclass
class World:
    tmp: Path
    origin: Path
    attacker: Path
    victim: Path
    sentinel: Path
    cli: Cli

    def attack(self, *args: str) -> str:
        return git(self.attacker, *args)

    def publish(self, message: str) -> None:
        self.attack("add", "-A")
        self.attack("commit", "-q", "-m", message)
        self.attack("push", "-q", "origin", "HEAD:main", "--tags")

    def manifest(self, name: str) -> str:
        return (self.attacker / "models" / name / "model.yaml").read_text()


@pytest.fixture
def world(tmp_path: Path, cli: Cli) -> World:
    """An attacker and a victim clone of one bare origin, one DVC remote folder,
    models ``m`` (``evil.pth``) and ``m2`` (``sub/evil.pth``) registered and pushed."""
    sentinel = tmp_path / "sentinel"
    for rel, data in SENTINEL_FILES.items():
        (sentinel / rel).parent.mkdir(parents=True, exist_ok=True)
        (sentinel / rel).write_bytes(data)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    attacker = tmp_path / "attacker"
    attacker.mkdir()
    git(attacker, "init", "-q")
    cli.ok("init", "--remote", str(tmp_path / "dvcstore"), cwd=attacker)
    git(attacker, "remote", "add", "origin", str(origin))
    source = tmp_path / "source"
    (source / "two" / "sub").mkdir(parents=True)
    (source / "evil.pth").write_bytes(b"import os; os.system('echo pwned')\n")
    (source / "two" / "sub" / "evil.pth").write_bytes(b"import os; os.system('echo pwned 2')\n")
    cli.ok("register", "m", source / "evil.pth", "--version", "1.0.0", cwd=attacker)
    cli.ok("register", "m2", source / "two", "--version", "1.0.0", cwd=attacker)
    shutil.rmtree(source)
    cli.ok("push", cwd=attacker)
    victim = tmp_path / "victim"
    git(tmp_path, "clone", "-q", str(origin), str(victim))
    cli.ok("pull", cwd=victim)
    return World(tmp_path, origin, attacker, victim, sentinel, cli)


# --- the hostile kinds: each commits (and maybe tags) one hostile entry -------------


def climbing_name(w: World) -> None:
    """A manifest whose GTO ``dirname:name`` climbs into the sentinel's site-packages."""
    text = w.manifest("m").replace("name: m\n", "name: ../../sentinel/site-packages:x\n")
    (w.attacker / "models" / "decoy").mkdir()
    (w.attacker / "models" / "decoy" / "model.yaml").write_text(text)
    w.publish("a manifest whose name climbs")


def symlinked_subfolder(w: World) -> None:
    """A model's subfolder replaced by a symlink to the sentinel."""
    w.attack("rm", "-q", "-r", "models/m2/sub")
    shutil.rmtree(w.attacker / "models" / "m2" / "sub", ignore_errors=True)
    (w.attacker / "models" / "m2" / "sub").symlink_to("../../../sentinel")
    w.publish("a symlinked subfolder")


def symlinked_model_folder(w: World) -> None:
    """A model folder replaced by a symlink, its manifest moved beside it."""
    text = w.manifest("m")
    w.attack("rm", "-q", "-r", "models/m")
    shutil.rmtree(w.attacker / "models" / "m", ignore_errors=True)
    (w.attacker / "models" / "m").symlink_to("../../sentinel")
    (w.attacker / "models" / "decoy").mkdir()
    (w.attacker / "models" / "decoy" / "model.yaml").write_text(text)
    w.publish("a symlinked model folder")


def symlinked_models_dir(w: World) -> None:
    """The whole models folder a symlink to the sentinel."""
    w.attack("rm", "-q", "-r", "models")
    shutil.rmtree(w.attacker / "models", ignore_errors=True)
    (w.attacker / "models").symlink_to("../sentinel")
    w.publish("a symlinked models folder")


def symlinked_gitignore(w: World) -> None:
    """A model's .gitignore a symlink to the sentinel's."""
    (w.attacker / "models" / "m" / ".gitignore").unlink()
    (w.attacker / "models" / "m" / ".gitignore").symlink_to("../../../sentinel/.gitignore")
    w.publish("a symlinked .gitignore")


def dvc_outs_outside(w: World) -> None:
    """A .dvc file whose outs path leads to the sentinel."""
    dvc = w.attacker / "models" / "m" / "evil.pth.dvc"
    dvc.write_text(dvc.read_text().replace("path: evil.pth", "path: ../../../sentinel/evil.pth"))
    w.publish("a .dvc outs path outside")


def climbing_artifact(w: World) -> None:
    """A tagged version whose artifact path climbs out of the model folder."""
    text = w.manifest("m").replace("path: evil.pth", "path: ../../../sentinel/evil.pth")
    (w.attacker / "models" / "m" / "model.yaml").write_text(text.replace("1.0.0", "9.0.0"))
    w.publish("an artifact path that climbs")
    w.attack("tag", "-a", "m@v9.0.0", "-m", "Register m v9.0.0")
    w.attack("push", "-q", "origin", "--tags")


def absolute_artifact(w: World) -> None:
    """A tagged version whose artifact path is absolute."""
    target = (w.sentinel / "evil.pth").as_posix()
    text = w.manifest("m").replace("path: evil.pth", f"path: {target}")
    (w.attacker / "models" / "m" / "model.yaml").write_text(text.replace("1.0.0", "9.0.0"))
    w.publish("an absolute artifact path")
    w.attack("tag", "-a", "m@v9.0.0", "-m", "Register m v9.0.0")
    w.attack("push", "-q", "origin", "--tags")


def control_character(w: World) -> None:
    """A manifest whose file name holds a newline and an escape."""
    text = w.manifest("m").replace("path: evil.pth", 'path: "evil\\n\\e[2J.pth"')
    (w.attacker / "models" / "m" / "model.yaml").write_text(text)
    w.publish("a control character in a file name")


def committed_cache_dir(w: World) -> None:
    """The committed DVC config points DVC's cache (written on every fetch) at the
    sentinel."""
    config = w.attacker / ".dvc" / "config"
    config.write_text(config.read_text() + "[cache]\n    dir = ../../sentinel/cache\n")
    w.publish("a DVC cache outside the repository")


def committed_lock_symlink(w: World) -> None:
    """DVC's lock file committed as a symlink to a file of the victim's: DVC writes
    its process id through it when it locks the repository."""
    lock = w.attacker / ".dvc" / "tmp" / "lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to("../../../sentinel/notes.txt")
    w.attack("add", "-f", ".dvc/tmp/lock")
    w.publish("a symlinked DVC lock")


def committed_cache_symlink(w: World) -> None:
    """DVC's cache folder committed as a symlink into the victim's site-packages."""
    shutil.rmtree(w.attacker / ".dvc" / "cache")
    (w.attacker / ".dvc" / "cache").symlink_to("../../sentinel/site-packages")
    w.attack("add", "-f", ".dvc/cache")
    w.publish("a symlinked DVC cache")


def committed_local_config(w: World) -> None:
    """``.dvc/config.local`` (never committed by DVC) forced in, moving the cache."""
    (w.attacker / ".dvc" / "config.local").write_text("[cache]\n    dir = ../../sentinel/c\n")
    w.attack("add", "-f", ".dvc/config.local")
    w.publish("a committed config.local")


@dataclass(frozen=True)
class Kind:
    attack: Callable[[World], None]
    model: str  # the model the victim's commands are about
    ref: str  # what checkout and get ask for
    named: str  # what check and verify must name
    pull_warns: bool  # pull meets the entry: one warning line naming it, exit 0
    register_refuses: bool  # register meets the entry: one line, exit 1


KINDS = {
    "climbing-name": Kind(climbing_name, "m", "m@v1.0.0", "site-packages:x", True, False),
    "symlinked-subfolder": Kind(
        symlinked_subfolder, "m2", "m2@v1.0.0", "models/m2/sub", True, True
    ),
    "symlinked-model-folder": Kind(symlinked_model_folder, "m", "m@v1.0.0", "models/m", True, True),
    "symlinked-models-dir": Kind(symlinked_models_dir, "m", "m@v1.0.0", "models", True, True),
    "symlinked-gitignore": Kind(
        symlinked_gitignore, "m", "m@v1.0.0", "models/m/.gitignore", False, True
    ),
    "dvc-outs-outside": Kind(dvc_outs_outside, "m", "m@v1.0.0", "evil.pth.dvc", False, True),
    "climbing-artifact": Kind(
        climbing_artifact, "m", "m@v9.0.0", "../../../sentinel/evil.pth", False, True
    ),
    "absolute-artifact": Kind(absolute_artifact, "m", "m@v9.0.0", "absolute", False, True),
    "control-character": Kind(control_character, "m", "m@v1.0.0", "control character", False, True),
    "committed-cache-dir": Kind(committed_cache_dir, "m", "m@v1.0.0", "cache.dir", False, True),
    "committed-lock-symlink": Kind(
        committed_lock_symlink, "m", "m@v1.0.0", ".dvc/tmp/lock", False, True
    ),
    "committed-cache-symlink": Kind(
        committed_cache_symlink, "m", "m@v1.0.0", ".dvc/cache", False, True
    ),
    "committed-local-config": Kind(
        committed_local_config, "m", "m@v1.0.0", ".dvc/config.local", False, True
    ),
}


def _sane(result: Result) -> None:
    """Exit 0 or 1, no traceback; a refusal is one line."""
    assert result.exit_code in (0, 1), result
    assert "Traceback" not in result.stderr and "bug in modelreg" not in result.stderr, result
    if result.exit_code == 1 and not result.stdout:
        assert len(result.stderr.strip().splitlines()) == 1, result


@pytest.mark.parametrize("kind", list(KINDS), ids=list(KINDS))
def test_a_pushed_hostile_entry_changes_nothing_outside(world: World, kind: str) -> None:
    hostile = KINDS[kind]
    before = sentinel_state(world.sentinel)
    hostile.attack(world)
    assert sentinel_state(world.sentinel) == before  # the attacker's side is not the test
    victim, cli = world.victim, world.cli
    new = world.tmp / "new" / "weights.bin"
    new.parent.mkdir()
    new.write_bytes(b"the victim's own new weights\n")
    commands: list[tuple[str, ...]] = [
        ("pull",),
        ("check",),
        ("verify",),
        ("register", hostile.model, str(new), "--version", "5.0.0"),
        ("checkout", hostile.ref),
        ("get", hostile.ref, "-o", str(world.tmp / "out")),
        ("doctor", "--repair"),
        ("verify",),
        ("check",),
    ]
    results: dict[str, Result] = {}
    for command in commands:
        result = cli(*command, cwd=victim)
        results.setdefault(command[0], result)  # check and verify: right after the pull
        _sane(result)
        assert sentinel_state(world.sentinel) == before, (command, result)
        assert not (world.tmp / "evil.pth").exists()
    for command in ("check", "verify"):
        found = results[command]
        assert found.exit_code == 1, found
        assert hostile.named in found.stdout + found.stderr, found
    if hostile.pull_warns:
        pulled = results["pull"]
        assert pulled.exit_code == 0, pulled
        warning = [line for line in pulled.stderr.splitlines() if "refused" in line]
        assert len(warning) == 1 and hostile.named in warning[0], pulled
    if hostile.register_refuses:
        registered = results["register"]
        assert registered.exit_code == 1, registered
        assert len(registered.stderr.strip().splitlines()) == 1, registered


def test_pull_skips_a_climbing_name_with_one_warning_and_goes_on(world: World) -> None:
    climbing_name(world)
    world.cli("checkout", "m@v1.0.0", cwd=world.victim)
    (world.victim / "models" / "m" / "evil.pth").unlink()  # pull must write it back
    result = world.cli("pull", cwd=world.victim)
    assert result.exit_code == 0, result
    warnings = [line for line in result.stderr.splitlines() if "sentinel" in line]
    assert len(warnings) == 1 and "refused" in warnings[0], result
    assert (world.victim / "models" / "m" / "evil.pth").is_file()  # the rest goes on


def test_register_refuses_a_file_name_with_a_control_character(
    world: World, tmp_path: Path
) -> None:
    for name in ("bad\nname.bin", "bad\x1bname.bin", "trailing.bin "):
        path = tmp_path / "names" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"weights\n")
        result = world.cli("register", "m", str(path), cwd=world.victim)
        assert result.exit_code == 1, result
        assert len(result.stderr.strip().splitlines()) == 1, result
        assert "\x1b" not in result.stderr
        assert not git(world.victim, "status", "--porcelain")


def test_get_never_writes_through_a_symlink_inside_the_output_folder(
    repo: Path, cli: Cli, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "x.bin").write_bytes(b"weights\n")
    cli.ok("register", "m", source, "--version", "1.0.0", cwd=repo)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(elsewhere)
    result = cli("get", "m@v1.0.0", "-o", out, cwd=repo)
    assert result.exit_code == 1, result
    assert len(result.stderr.strip().splitlines()) == 1 and "symlink" in result.stderr, result
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["sub"]  # no staging folder left


def test_files_dvc_links_from_its_cache_are_not_hostile(
    repo: Path, cli: Cli, tmp_path: Path
) -> None:
    """cache.type symlink: the model files are symlinks into .dvc/cache, made by
    modelreg itself; check and verify pass, and checkout replaces them."""
    config = repo / ".dvc" / "config"
    config.write_text(config.read_text() + "[cache]\n    type = symlink\n")
    git(repo, "commit", "-q", "-am", "symlink cache")
    for version, data in (("1.0.0", b"one\n"), ("2.0.0", b"two\n")):
        source = tmp_path / version / "model.pkl"
        source.parent.mkdir()
        source.write_bytes(data)
        cli.ok("register", "m", source, "--version", version, cwd=repo)
    assert (repo / "models" / "m" / "model.pkl").is_symlink()
    cli.ok("check", cwd=repo)
    cli.ok("verify", cwd=repo)
    cli.ok("checkout", "m@v1.0.0", cwd=repo)
    assert (repo / "models" / "m" / "model.pkl").read_bytes() == b"one\n"


def test_a_cache_shared_by_this_machines_clones_is_honoured(world: World) -> None:
    """A cache outside the repository that the user chose (``.dvc/config.local``,
    never committed) is used; only a committed one is refused."""
    shared = world.tmp / "shared-cache"
    (world.victim / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {shared}\n")
    (world.victim / "models" / "m" / "evil.pth").unlink()  # its bytes come back through the cache
    result = world.cli("pull", cwd=world.victim)
    assert result.exit_code == 0, result
    assert any(p.is_file() for p in (shared / "files" / "md5").rglob("*"))
    assert (world.victim / "models" / "m" / "evil.pth").is_file()
    # Registering with that cache journals its staging file by its full path (it
    # was an internal error: a path outside the work tree in the journal).
    new = world.tmp / "weights.bin"
    new.write_bytes(b"new weights\n")
    registered = world.cli("register", "m", str(new), "--version", "2.0.0", cwd=world.victim)
    assert registered.exit_code == 0, registered
    assert not list(shared.rglob("*.tmp"))
    assert world.cli("check", cwd=world.victim).exit_code == 0
