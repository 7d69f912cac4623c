"""tokens.py: the token store (hashed, 0600, one per registry) and who a secret is."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from modelreg import serialize
from modelreg.errors import Kind
from modelreg.gitrepo import Identity
from modelreg.registry import Registry
from modelreg.tokens import (
    Forbidden,
    InvalidTokenError,
    TokenExistsError,
    TokenStore,
    TokenStoreError,
    Unauthenticated,
    UnknownTokenError,
    authorize,
    store_path,
)

from .conftest import FileMaker, git


@pytest.fixture
def store(repo: Path) -> TokenStore:
    return TokenStore.of(Registry(repo))


def test_a_secret_verifies_as_its_token_and_is_never_stored(store: TokenStore) -> None:
    token, secret = store.add("ci", "write", "ci@example.com")
    assert secret.startswith("mrt_") and len(secret) >= 40
    assert (token.name, token.role, token.email) == ("ci", "write", "ci@example.com")
    assert store.verify(secret) == token
    text = store.path.read_text()
    assert secret not in text and secret[4:] not in text
    assert json.loads(text)["tokens"][0]["sha256"] == token.sha256
    with pytest.raises(Unauthenticated) as refused:
        store.verify(secret + "x")
    assert refused.value.kind is Kind.UNAUTHENTICATED and refused.value.http_status == 401


def test_every_secret_is_new(store: TokenStore) -> None:
    secrets = {store.add(f"t{i}", "read")[1] for i in range(20)}
    assert len(secrets) == 20


def test_the_store_is_private_and_under_xdg_config_home(store: TokenStore, isolated: Path) -> None:
    store.add("ci", "read")
    assert store.path.is_relative_to(isolated / "config" / "modelreg")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    # written whole and renamed: no temporary file stays beside it
    assert sorted(p.suffix for p in store.path.parent.iterdir()) == [".json", ".lock"]


def test_list_is_sorted_and_its_json_holds_no_secret_nor_hash(store: TokenStore) -> None:
    store.add("zed", "read")
    _, secret = store.add("ana", "write", "ana@example.com")
    listed = store.list()
    assert [t.name for t in listed] == ["ana", "zed"]
    document = serialize.tokens(listed)
    assert list(document["tokens"][0]) == ["name", "role", "email", "created"]
    assert document["tokens"][1]["email"] is None
    text = serialize.dumps(document)
    assert secret not in text and listed[0].sha256 not in text


def test_a_duplicate_name_is_a_conflict(store: TokenStore) -> None:
    _, secret = store.add("ci", "read")
    before = store.path.read_bytes()
    with pytest.raises(TokenExistsError) as refused:
        store.add("ci", "write")
    assert refused.value.kind is Kind.CONFLICT
    assert store.path.read_bytes() == before
    assert store.verify(secret).role == "read"


@pytest.mark.parametrize(
    "name", ["", "CI", "a b", "-ci", "ci-", "a/b", "a@b", "é", "x" * 65, "a\nb", "a<b>"]
)
def test_a_name_breaking_the_grammar_is_refused(store: TokenStore, name: str) -> None:
    with pytest.raises(InvalidTokenError) as refused:
        store.add(name, "read")
    assert refused.value.kind is Kind.INVALID
    assert not store.path.exists()


@pytest.mark.parametrize("name", ["ci", "a", "deploy-bot", "ana.s", "team_ml-2", "x" * 64])
def test_names_in_the_grammar(store: TokenStore, name: str) -> None:
    assert store.add(name, "read")[0].name == name


@pytest.mark.parametrize(
    ("role", "email"), [("admin", None), ("", None), ("read", "nobody"), ("read", "a b@c")]
)
def test_a_bad_role_or_email_is_refused(store: TokenStore, role: str, email: str | None) -> None:
    with pytest.raises(InvalidTokenError):
        store.add("ci", role, email)
    assert store.list() == []


def test_remove(store: TokenStore) -> None:
    _, gone = store.add("gone", "write")
    _, kept = store.add("kept", "read")
    assert store.remove("gone").name == "gone"
    with pytest.raises(Unauthenticated):
        store.verify(gone)
    assert store.verify(kept).name == "kept"
    with pytest.raises(UnknownTokenError) as refused:
        store.remove("gone")
    assert refused.value.kind is Kind.NOT_FOUND


def test_no_file_is_no_token(store: TokenStore) -> None:
    assert store.load().empty and store.list() == []
    with pytest.raises(Unauthenticated):
        store.verify("mrt_anything")


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"tokens": [{"name": "x"}]}', b"\xff"])
def test_a_damaged_store_is_an_error_never_an_empty_one(store: TokenStore, content: bytes) -> None:
    store.add("ci", "read")
    store.path.write_bytes(content)
    with pytest.raises(TokenStoreError) as refused:
        store.load()
    assert refused.value.kind is Kind.UNAVAILABLE


def test_a_read_token_may_not_write(store: TokenStore) -> None:
    reader, _ = store.add("reader", "read")
    writer, _ = store.add("writer", "write")
    authorize(reader, writes=False)
    authorize(writer, writes=True)
    with pytest.raises(Forbidden) as refused:
        authorize(reader, writes=True)
    assert refused.value.http_status == 403 and "reader" in refused.value.message


def test_each_registry_has_its_own_tokens(tmp_path: Path, repo: Path) -> None:
    other = tmp_path / "other"
    Registry.init(other, remote=str(tmp_path / "other-remote"))
    mine, theirs = TokenStore.of(Registry(repo)), TokenStore.of(Registry(other))
    assert mine.path != theirs.path
    _, secret = mine.add("ci", "write")
    assert theirs.load().empty
    with pytest.raises(Unauthenticated):
        theirs.verify(secret)
    theirs.add("ci", "read")  # the same name is another token there
    assert mine.verify(secret).role == "write"


def test_worktrees_of_one_clone_share_its_tokens(tmp_path: Path, repo: Path) -> None:
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"))
    assert TokenStore.of(Registry(tmp_path / "wt")).path == TokenStore.of(Registry(repo)).path
    assert store_path(repo / ".git").name.startswith("registry-")


def test_adds_at_once_all_land(store: TokenStore) -> None:
    errors: list[BaseException] = []

    def add(i: int) -> None:
        try:
            store.add(f"t{i}", "read")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.list()) == 8


def test_an_identity_names_the_author_and_tagger_without_touching_the_environment(
    repo: Path, files: FileMaker, store: TokenStore
) -> None:
    token, _ = store.add("deploy-bot", "write", "bot@example.com")
    assert token.identity() == Identity("deploy-bot", "bot@example.com")
    environment = dict(os.environ)
    acting = Registry(repo, identity=token.identity())
    registered = acting.register("fraud", files(), version="1.0.0")
    acting.promote("fraud@v1.0.0", "dev")
    assert os.environ == environment
    assert registered.manifest.author == "deploy-bot <bot@example.com>"
    author = git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", registered.commit)
    assert author.strip() == "deploy-bot <bot@example.com>|deploy-bot <bot@example.com>"
    history = Registry(repo).history("fraud")
    assert {(e.author, e.author_email) for e in history} == {("deploy-bot", "bot@example.com")}
    # a token with no email tags with an empty one, never git's configured user's
    nameless, _ = store.add("ci", "write")
    Registry(repo, identity=nameless.identity()).promote(
        "fraud@v1.0.0", "staging", force=True, message="skip"
    )
    latest = Registry(repo).history("fraud")[-1]
    assert (latest.author, latest.author_email) == ("ci", "")
    # and a registry without one keeps git's user
    Registry(repo).promote("fraud@v1.0.0", "production", force=True, message="skip")
    assert Registry(repo).history("fraud")[-1].author == "Test User"
