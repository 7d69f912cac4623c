"""The pure parts of OCI publishing: oci:// references, credentials and challenges,
the ModelKit-shaped manifest and what a pulled manifest must satisfy. The registry
itself is exercised in tests/integration/test_oci.py."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from modelreg.errors import InvalidReferenceError, ManifestError
from modelreg.oci import artifact
from modelreg.oci.auth import find_credentials, parse_challenge
from modelreg.oci.reference import (
    OciRef,
    parse_oci,
    parse_publications,
    publication_line,
    tag_for_version,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oci://ghcr.io/acme/fraud", OciRef("ghcr.io", "acme/fraud")),
        ("oci://ghcr.io/acme/fraud:1.2.0", OciRef("ghcr.io", "acme/fraud", "1.2.0")),
        ("oci://127.0.0.1:5000/a/b/c:prod", OciRef("127.0.0.1:5000", "a/b/c", "prod")),
        (f"oci://localhost:5000/x@{DIGEST}", OciRef("localhost:5000", "x", None, DIGEST)),
        ("oci://[::1]:5000/x:t", OciRef("[::1]:5000", "x", "t")),
    ],
)
def test_references_parse(text: str, expected: OciRef) -> None:
    assert parse_oci(text) == expected
    assert str(parse_oci(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "ghcr.io/acme/fraud",
        "oci://ghcr.io",
        "oci://ghcr.io/",
        "oci://ghcr.io/Acme/fraud",
        "oci://ghcr.io/acme/fraud:-bad",
        "oci://ghcr.io/acme/fraud:a+b",
        "oci://ghcr.io/acme/fraud@sha256:short",
        "oci://ghcr.io/acme/../fraud",
        "oci://gh cr.io/acme",
    ],
)
def test_malformed_references_are_refused(text: str) -> None:
    with pytest.raises(InvalidReferenceError):
        parse_oci(text)


def test_loopback_hosts_speak_plain_http_by_default() -> None:
    assert parse_oci("oci://127.0.0.1:5000/x").loopback
    assert parse_oci("oci://localhost/x").loopback
    assert not parse_oci("oci://ghcr.io/x").loopback


def test_a_version_becomes_a_valid_tag() -> None:
    assert tag_for_version("1.2.0+build.5") == "1.2.0_build.5"


def test_publication_lines_round_trip_and_junk_is_skipped() -> None:
    ref = parse_oci("oci://ghcr.io/acme/fraud:prod")
    line = publication_line(ref, DIGEST)
    found = parse_publications([line, "hand-written note", line, "oci://x/y@sha256:zz"])
    assert [(p.reference, p.digest) for p in found] == [(str(ref), DIGEST)]


def test_credentials_from_env_then_docker_config(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert find_credentials("ghcr.io", env) is None
    docker = tmp_path / ".docker"
    docker.mkdir()
    auth = base64.b64encode(b"me:pa:ss").decode()
    (docker / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": auth}}}))
    found = find_credentials("ghcr.io", env)
    assert found is not None and (found.username, found.password) == ("me", "pa:ss")
    assert "pa:ss" not in repr(found)
    env |= {"MODELREG_OCI_USERNAME": "ci", "MODELREG_OCI_PASSWORD": "tok"}
    found = find_credentials("ghcr.io", env)
    assert found is not None and found.username == "ci"
    (docker / "config.json").write_text("not json")
    assert find_credentials("other.io", {"HOME": str(tmp_path)}) is None


def test_challenges_parse() -> None:
    found = parse_challenge(
        'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull,push"'
    )
    assert found.scheme == "bearer"
    assert found.params == {
        "realm": "https://ghcr.io/token",
        "service": "ghcr.io",
        "scope": "repository:a/b:pull,push",
    }
    assert parse_challenge('Basic realm="registry"').scheme == "basic"


def _who() -> artifact.Provenance:
    return artifact.Provenance("fraud", "1.0.0", "c" * 40, "fraud@v1.0.0", "d" * 64, "A <a@b>")


def test_the_manifest_is_a_modelkit_that_parses_back() -> None:
    layers = [artifact.Layer("model.bin", 3, "ab" * 32), artifact.Layer("docs/a.md", 1, "cd" * 32)]
    built = artifact.build(_who(), layers)
    manifest = json.loads(built.manifest)
    assert manifest["artifactType"] == artifact.ARTIFACT_TYPE
    assert manifest["config"]["mediaType"] == artifact.CONFIG_TYPE
    kitfile = json.loads(built.config)
    assert kitfile["model"]["path"] == "model.bin"
    assert kitfile["model"]["parts"][0]["diffId"] == "sha256:" + "cd" * 32
    parsed = artifact.parse(built.manifest, "x")
    assert parsed.layers == tuple(layers)
    assert parsed.annotations[artifact.COMMIT] == "c" * 40


def _with_layer(**layer: object) -> bytes:
    document = json.loads(artifact.build(_who(), [artifact.Layer("a", 1, "ab" * 32)]).manifest)
    document["layers"][0].update(layer)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (json.dumps({"mediaType": "application/vnd.oci.image.index.v1+json"}).encode(), "index"),
        (_with_layer(annotations={}), "no title"),
        (_with_layer(annotations={artifact.TITLE: "../x"}), "refused"),
        (_with_layer(annotations={artifact.TITLE: "/etc/x"}), "absolute"),
        (_with_layer(annotations={artifact.TITLE: "a\\b"}), "backslash"),
        (_with_layer(digest="md5:00"), "no sha256 digest"),
        (_with_layer(size=-1), "no size"),
        (
            _with_layer(annotations={artifact.TITLE: "a", artifact.FILE_SHA256: "00" * 32}),
            "disagree",
        ),
    ],
)
def test_an_untrusted_manifest_is_checked(data: bytes, fragment: str) -> None:
    with pytest.raises(ManifestError, match=fragment.replace("\\", "\\\\")):
        artifact.parse(data, "oci://h/r:t")


def test_two_layers_with_one_title_are_refused() -> None:
    layers = [artifact.Layer("a", 1, "ab" * 32), artifact.Layer("a", 1, "cd" * 32)]
    with pytest.raises(ManifestError, match="clashes"):
        artifact.parse(artifact.build(_who(), layers).manifest, "x")
    nested = [artifact.Layer("a", 1, "ab" * 32), artifact.Layer("a/b", 1, "cd" * 32)]
    with pytest.raises(ManifestError, match="clashes"):
        artifact.parse(artifact.build(_who(), nested).manifest, "x")
