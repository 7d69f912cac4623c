"""gates.py: the promotion gates (stage, order, dependencies, dependents) and force.
Real git and DVC; each gate refuses, then passes once its cause is fixed; --force is
recorded in the tag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelreg import Registry
from modelreg.cli import cli_words
from modelreg.errors import GateError, PolicyError
from modelreg.tags import parse_message

from .conftest import Cli, Clock, FileMaker, git


def test_gate_dependencies_must_be_in_the_stage(stack: Registry, clock: Clock) -> None:
    with pytest.raises(
        GateError, match=re.escape("needs text-embedder >=2.0.0,<3.0.0 in production")
    ) as e:
        stack.promote("classifier@v1.2.0", "production")
    assert [f.gate for f in e.value.failures] == ["dependencies"]
    clock.tick()
    stack.promote("tokenizer@v1.4.0", "production")
    clock.tick()
    stack.promote("text-embedder@v2.3.1", "production")  # its own dependency is there now
    clock.tick()
    assert stack.promote("classifier@v1.2.0", "production").tag == "classifier#production#1"


def test_gate_a_stage_holder_must_satisfy_the_range(stack: Registry, clock: Clock) -> None:
    for ref in ("tokenizer@v1.4.0", "text-embedder@v2.3.1"):
        clock.tick()
        stack.promote(ref, "production")
    with pytest.raises(
        GateError, match=re.escape("production holds text-embedder v2.3.1, which is not")
    ):
        stack.promote("classifier@v1.3.0", "production")


def test_gate_dependents_keep_their_dependencies(stack: Registry, clock: Clock) -> None:
    for ref in ("tokenizer@v1.4.0", "text-embedder@v2.3.1", "classifier@v1.2.0"):
        clock.tick()
        stack.promote(ref, "production")
    # text-embedder 3.0.0 would break classifier 1.2.0 (and needs tokenizer 2 itself).
    with pytest.raises(GateError) as refused:
        stack.promote("text-embedder@v3.0.0", "production")
    assert {f.gate for f in refused.value.failures} == {"dependencies", "dependents"}
    messages = [f.message for f in refused.value.failures]
    assert any("classifier v1.2.0 holds production and needs text-embedder" in m for m in messages)
    assert "(and 1 more gate(s))" in str(refused.value)
    # Rolling a dependency back is checked against its dependents too.
    clock.tick()
    stack.promote("tokenizer@v2.0.0", "staging")
    with pytest.raises(GateError, match=re.escape("text-embedder v2.3.1 holds production")):
        stack.promote("tokenizer@v2.0.0", "production")


def test_gate_rollback_is_checked_against_dependents(
    registry: Registry, files: FileMaker, clock: Clock
) -> None:
    registry.register("tok", [files()], version="1.0.0")
    registry.register("tok", [files()], version="1.1.0")
    registry.register("enc", [files()], version="1.0.0", dependencies=["tok@>=1.1.0"])
    for ref in ("tok@v1.0.0", "tok@v1.1.0", "enc@v1.0.0"):
        clock.tick()
        registry.promote(ref, "production")
    with pytest.raises(
        GateError, match=re.escape("enc v1.0.0 holds production and needs tok >=1.1.0")
    ):
        registry.rollback("tok", "production")
    clock.tick()
    registry.deprecate("enc@v1.0.0")  # the dependent leaves production
    clock.tick()
    assert registry.rollback("tok", "production").version == "1.0.0"


def test_gate_promotion_order(repo: Path, files: FileMaker, clock: Clock) -> None:
    (repo / ".modelreg.yaml").write_text(
        "stages: [dev, staging, production]\npromotion_order: true\n"
    )
    git(repo, "commit", "-qam", "promotion order")
    registry = Registry(repo)
    registry.register("m", [files()])
    with pytest.raises(GateError, match="must hold staging before production"):
        registry.promote("m@v0.1.0", "production")
    with pytest.raises(GateError, match="must hold dev before staging"):
        registry.promote("m@v0.1.0", "staging")
    for stage in ("dev", "staging", "production"):
        clock.tick()
        registry.promote("m@v0.1.0", stage)
    assert registry.resolve("m#production").version == "0.1.0"


def test_gate_unknown_stage(registry: Registry, files: FileMaker) -> None:
    registry.register("m", [files()])
    with pytest.raises(GateError, match="'prod' is not a stage of this registry") as refused:
        registry.promote("m@v0.1.0", "prod")
    # --force cannot override this gate, so the hint must not offer it.
    assert "override with --force" not in (refused.value.hint or "")
    assert "override with --force" not in (cli_words(refused.value)[1] or "")
    assert ".modelreg.yaml" in (refused.value.hint or "")
    with pytest.raises(GateError, match="'prod' is not a stage"):
        registry.promote("m@v0.1.0", "prod", force=True, message="really")
    (registry.root / ".modelreg.yaml").write_text("stages: [dev, prod]\n")
    git(registry.root, "commit", "-qam", "add the prod stage")
    assert Registry(registry.root).promote("m@v0.1.0", "prod").tag == "m#prod#1"


def test_force_overrides_and_is_recorded(stack: Registry, clock: Clock) -> None:
    with pytest.raises(PolicyError, match="forcing needs a reason") as refused:
        stack.promote("classifier@v1.2.0", "production", force=True)
    # The library names the operation's parameter; the CLI says its flags.
    assert cli_words(refused.value)[0].startswith("--force needs a reason")
    clock.tick()
    result = stack.promote(
        "classifier@v1.2.0", "production", force=True, message="hotfix, deps follow"
    )
    text = git(stack.root, "tag", "-l", "--format=%(contents)", result.tag or "")
    message = parse_message(text)
    assert message.get("Forced") == "dependencies"
    assert message.get("Reason") == "hotfix, deps follow"
    assert stack.resolve("classifier#production").version == "1.2.0"


def test_force_through_the_cli(cli: Cli, stack: Registry) -> None:
    refused = cli("-C", stack.root, "promote", "classifier@v1.2.0", "--to", "production")
    assert refused.exit_code == 1
    assert "--force -m REASON" in refused.stderr
    forced = cli(
        "-C", stack.root, "promote", "classifier@v1.2.0", "--to", "production",
        "--force", "-m", "incident 42",
    )  # fmt: skip
    assert forced.exit_code == 0, forced
    assert "gate 'dependencies' refuses" in forced.stderr
    assert "Promoted classifier v1.2.0 to production" in forced.stdout


def test_force_cannot_invent_a_stage(registry: Registry, files: FileMaker) -> None:
    registry.register("fr", [files()])
    with pytest.raises(GateError, match="not a stage"):
        registry.promote("fr@v0.1.0", "prodution", force=True, message="typo")
    assert git(registry.root, "tag", "-l", "fr#*").split() == []
