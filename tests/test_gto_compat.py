"""modelreg and GTO read one registry the same way, whichever tool wrote it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelreg import Registry

from .conftest import Cli, Clock, FileMaker, git

GTO = Path(sys.executable).parent / "gto"


def gto(repo: Path, *args: str) -> str:
    assert GTO.exists(), "GTO is a test dependency: pip install -e '.[test]'"
    done = subprocess.run([str(GTO), *args], cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def gto_view(repo: Path) -> dict[str, tuple[str | None, dict[str, str]]]:
    """GTO's answer: model -> (latest version, {stage: version}), versions without 'v'."""
    shown = json.loads(gto(repo, "show", "--json"))
    view = {}
    for name, entry in shown.items():
        latest = entry["version"][1:] if entry["version"] else None
        stages = {s: v[1:] for s, v in entry["stage"].items() if v}
        view[name] = (latest, stages)
    return view


def modelreg_view(cli: Cli, repo: Path) -> dict[str, tuple[str | None, dict[str, str]]]:
    listed = json.loads(cli.ok("-C", repo, "list", "--json").stdout)["models"]
    return {m["name"]: (m["latest"], m["stages"]) for m in listed}


def test_a_registry_written_by_modelreg_reads_the_same_in_gto(
    cli: Cli, repo: Path, files: FileMaker
) -> None:
    for _ in range(3):
        cli.ok("-C", repo, "register", "fraud", files())
    cli.ok("-C", repo, "register", "team/ranker", files())
    cli.ok("-C", repo, "register", "team/ranker", files(), "--bump", "major")
    cli.ok("-C", repo, "register", "retired", files())
    cli.ok("-C", repo, "promote", "fraud@v0.1.0", "--to", "production")
    cli.ok("-C", repo, "promote", "fraud@v0.2.0", "--to", "production")
    cli.ok("-C", repo, "promote", "fraud@v0.3.0", "--to", "staging")
    cli.ok("-C", repo, "promote", "fraud@v0.3.0", "--to", "production")
    cli.ok("-C", repo, "rollback", "fraud", "--stage", "production")
    cli.ok("-C", repo, "promote", "team/ranker@v1.0.0", "--to", "dev")
    cli.ok("-C", repo, "promote", "team/ranker@v0.1.0", "--to", "production")
    cli.ok("-C", repo, "deprecate", "team/ranker@v1.0.0")
    cli.ok("-C", repo, "deprecate", "retired")

    ours = modelreg_view(cli, repo)
    assert ours == {
        "fraud": ("0.3.0", {"production": "0.2.0", "staging": "0.3.0"}),
        "team/ranker": ("0.1.0", {"production": "0.1.0"}),
    }
    assert gto_view(repo) == ours


def test_a_registry_written_by_gto_reads_the_same_in_modelreg(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "gto-repo"
    repo.mkdir()
    git(repo, "init", "-q")

    def commit(text: str) -> None:
        (repo / "model.txt").write_text(text)
        git(repo, "add", "model.txt")
        git(repo, "commit", "-qm", text)

    commit("one")
    gto(repo, "register", "gone", "--version", "v0.1.0")  # deprecated at the end, seconds later
    gto(repo, "register", "churn", "--version", "v1.0.0")
    gto(repo, "register", "Upper_Case", "--version", "v0.0.1")
    commit("two")
    gto(repo, "register", "churn", "--bump-minor", "-m", "better recall")
    # GTO stamps its tags with the wall clock, to the second, and orders by that: keep
    # at most one competing assignment per stage so the answer never rests on a tie.
    gto(repo, "assign", "churn", "--version", "v1.0.0", "--stage", "canary")
    gto(repo, "assign", "churn", "--version", "v1.1.0", "--stage", "prod", "-m", "ship it")
    gto(repo, "assign", "churn", "--version", "v1.1.0", "--stage", "qa")
    gto(repo, "deprecate", "churn", "v1.1.0", "qa")  # unassign
    commit("three")
    gto(repo, "register", "churn", "--bump-patch")
    gto(repo, "assign", "churn", "--version", "v1.1.1", "--stage", "prod")
    gto(repo, "deprecate", "churn", "v1.1.1")  # deregister: prod goes back to v1.1.0
    gto(repo, "deprecate", "gone")

    ours = modelreg_view(cli, repo)
    assert ours == {
        "Upper_Case": ("0.0.1", {}),
        "churn": ("1.1.0", {"canary": "1.0.0", "prod": "1.1.0"}),
    }
    assert gto_view(repo) == ours

    history = json.loads(cli.ok("-C", repo, "history", "churn", "--json").stdout)["events"]
    kinds = [(e["event"], e["version"], e["stage"]) for e in history]
    assert ("unassign", "1.1.0", "qa") in kinds
    assert ("deregister", "1.1.1", None) in kinds
    reasons = {e["reason"] for e in history}
    assert "better recall" in reasons and "ship it" in reasons

    # No manifest (GTO registers commits, not files): show says so, and reads still work.
    info = Registry(repo).show("churn#prod")
    assert (info.version, info.manifest) == ("1.1.0", None)
    assert cli.ok("-C", repo, "resolve", "churn#prod").stdout == "1.1.0\n"
    refused = cli("-C", repo, "get", "churn#prod", "-o", tmp_path / "out")
    assert refused.exit_code == 1 and "has no manifest" in refused.stderr


@pytest.mark.parametrize("stage", ["prod", "production"])
def test_gto_reads_a_modelreg_promotion_made_after_its_own(
    cli: Cli, clock: Clock, repo: Path, files: FileMaker, stage: str
) -> None:
    """GTO-written and modelreg-written events interleave in one registry."""
    # GTO stamps tags with the real time and orders by it: move our clock past it.
    clock.tick(int(time.time()) + 5 - clock.now)
    (repo / ".modelreg.yaml").write_text(f"stages: [dev, {stage}]\n")
    git(repo, "commit", "-qam", "stages")
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "register", "m", files())
    gto(repo, "assign", "m", "--version", "v0.1.0", "--stage", stage)
    cli.ok("-C", repo, "promote", "m@v0.2.0", "--to", stage)
    assert git(repo, "tag", "-l", f"m#{stage}*").split() == [f"m#{stage}#1", f"m#{stage}#2"]
    assert gto_view(repo)["m"][1] == {stage: "0.2.0"}
    assert modelreg_view(cli, repo)["m"][1] == {stage: "0.2.0"}


def tagger_times(repo: Path, pattern: str) -> list[int]:
    """Tagger times of the tags matching ``pattern``, in counter order."""
    out = git(repo, "for-each-ref", "--format=%(refname:short) %(taggerdate:unix)", pattern)
    rows = [line.rsplit(" ", 1) for line in out.splitlines()]
    return [int(ts) for _name, ts in sorted(rows, key=lambda r: int(r[0].rsplit("#", 1)[1]))]


def test_events_in_one_second_read_the_same_in_gto(
    cli: Cli, clock: Clock, repo: Path, files: FileMaker
) -> None:
    """Two promotes back to back in one second (a CI job): GTO orders by tagger time
    in whole seconds, so each event is stamped after the model's latest."""
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "register", "m", files())
    registry = Registry(repo)  # the clock stands still: every event below is in one second
    registry.promote("m@v0.2.0", "production")
    registry.promote("m@v0.1.0", "production")
    registry.promote("m@v0.2.0", "staging")
    registry.promote("m@v0.1.0", "staging")
    registry.promote("m@v0.2.0", "production")
    times = tagger_times(repo, "refs/tags/m#*")
    assert len(times) == 5 and times == sorted(set(times))  # strictly increasing
    assert times[0] > clock.now  # after the registration, stamped in this same second
    ours = modelreg_view(cli, repo)
    assert ours["m"] == ("0.2.0", {"production": "0.2.0", "staging": "0.1.0"})
    assert gto_view(repo) == ours


def test_gto_simple_tags_rank_by_time_as_in_gto(
    cli: Cli, clock: Clock, repo: Path, files: FileMaker
) -> None:
    """`gto assign --simple` (NAME#STAGE) and `gto deprecate --simple` (NAME#STAGE!)
    among counted tags: both tools name the same holder at every step."""
    # GTO stamps its tags with the wall clock; ours start well before it.
    clock.tick(int(time.time()) - 1000 - clock.now)
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "register", "m", files())
    cli.ok("-C", repo, "promote", "m@v0.2.0", "--to", "production")
    gto(repo, "assign", "m", "--version", "v0.1.0", "--stage", "production", "--simple", "true")
    assert "m#production" in git(repo, "tag", "-l").split()
    ours = modelreg_view(cli, repo)
    assert ours["m"][1] == {"production": "0.1.0"}
    assert gto_view(repo) == ours

    gto(repo, "deprecate", "m", "v0.1.0", "production", "--simple", "true")
    assert "m#production!" in git(repo, "tag", "-l").split()
    ours = modelreg_view(cli, repo)
    assert ours["m"][1] == {"production": "0.2.0"}  # handed back to the counted assignment
    assert gto_view(repo) == ours

    # Our clock is still behind GTO's tags: the promote is stamped after them anyway.
    cli.ok("-C", repo, "promote", "m@v0.1.0", "--to", "production")
    ours = modelreg_view(cli, repo)
    assert ours["m"][1] == {"production": "0.1.0"}
    assert gto_view(repo) == ours


def test_gto_register_on_the_commit_of_another_version(
    cli: Cli, repo: Path, files: FileMaker, tmp_path: Path
) -> None:
    """`gto register` tags commits: on a commit whose model folder still holds v0.1.0's
    manifest, v0.2.0 has none of its own, and v0.1.0's is never shown or verified as
    v0.2.0's."""
    cli.ok("-C", repo, "register", "m", files(), "--description", "the first one")
    (repo / "train.py").write_text("print('training')\n")  # work goes on; models/m stays
    git(repo, "add", "train.py")
    git(repo, "commit", "-qm", "training code")
    gto(repo, "register", "m", "--version", "v0.2.0")  # HEAD holds v0.1.0's manifest
    assert gto_view(repo) == modelreg_view(cli, repo) == {"m": ("0.2.0", {})}

    shown = cli.ok("-C", repo, "show", "m@v0.2.0")
    assert "the first one" not in shown.stdout and "v0.1.0" not in shown.stdout.splitlines()[0]
    assert "none: the one at this commit is for m v0.1.0" in shown.stdout
    assert "m v0.2.0 points at a commit whose manifest is for m v0.1.0" in shown.stderr
    as_json = json.loads(cli.ok("-C", repo, "show", "m@v0.2.0", "--json").stdout)
    assert (as_json["version"], as_json["manifest"]) == ("0.2.0", None)
    assert "the first one" in cli.ok("-C", repo, "show", "m@v0.1.0").stdout

    verified = cli("-C", repo, "verify")
    assert verified.exit_code == 1
    assert verified.stdout.splitlines() == [
        "m@v0.2.0: tag m@v0.2.0 points at a commit whose manifest is v0.1.0's"
    ]
    refused = cli("-C", repo, "get", "m@v0.2.0", "-o", tmp_path / "out")
    assert refused.exit_code == 1 and "describes m v0.1.0, not m v0.2.0" in refused.stderr
