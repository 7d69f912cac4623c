"""Who may use a registry over HTTP: named tokens with a role, kept outside git.

A token is a random secret handed to one caller once (``token add``); the store
keeps only its SHA-256, its name, its role (``read`` or ``write``) and an
optional email, so a copy of the store file lets nobody in. The server asks
:meth:`TokenSet.verify` who a secret belongs to, and :func:`authorize` whether
that token may do what it asks; the token's name and email then stand as the
tagger of the events it writes (:meth:`Token.identity`).

**One store per registry.** The file is
``$XDG_CONFIG_HOME/modelreg/tokens/<folder>-<hash>.json``, keyed by the real
path of the repository's common git directory (every worktree of one clone
shares it). A machine that serves two registries (team A's and team B's) keeps
two lists: a token given out for one never opens the other, and removing a
caller from one leaves the other alone. The price: a registry moved to another
path starts with no tokens (its server falls back to loopback-only, never to
open on the network; see :mod:`modelreg.server.run`); add them again there.

**Why SHA-256 and not bcrypt.** bcrypt and its kin are slow on purpose, to make
guessing a *human* password from its hash expensive. These secrets are 256
random bits from :mod:`secrets`: no guess list exists, and no hash speed makes
2^256 tries feasible. A fast hash is as safe here, costs a microsecond per
request instead of ~100 ms (bcrypt at a sane cost would cap the server at a few
requests per second per core), and needs no extra dependency. Comparison of the
hashes is constant-time all the same (:func:`hmac.compare_digest`).

The file is JSON, written whole to a temporary file (mode 0600, in a 0700
folder) and renamed over the old one under a lock, so a reader (a running
server re-reads it when it changes) sees the old list or the new one, never
half of one, and two ``token add`` at once both land.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections.abc import Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Kind, ModelregError
from .gitrepo import Identity

if TYPE_CHECKING:
    from .registry import Registry

ROLES = ("read", "write")
SECRET_PREFIX = "mrt_"  # lets secret scanners (and people) recognise a leaked token
SECRET_BYTES = 32  # 256 random bits
NAME_RE = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?")
MAX_NAME_LENGTH = 64
EMAIL_RE = re.compile(r"[^\s<>@,;\"]+@[^\s<>@,;\"]+")
FORMAT = 1  # the store file's format version


class InvalidTokenError(ModelregError):
    """A token name, role or email that breaks its grammar, or a store file that
    is not one."""

    kind = Kind.INVALID


class TokenExistsError(ModelregError):
    kind = Kind.CONFLICT


class UnknownTokenError(ModelregError):
    kind = Kind.NOT_FOUND


class TokenStoreError(ModelregError):
    """The store cannot be read or written: no request can be authorised."""

    kind = Kind.UNAVAILABLE


class Unauthenticated(ModelregError):
    """No credentials, or a secret no token has."""

    kind = Kind.UNAUTHENTICATED


class Forbidden(ModelregError):
    """A known token asking for more than its role allows."""

    kind = Kind.FORBIDDEN


@dataclass(frozen=True)
class Token:
    """One token as the store keeps it (the secret itself is never kept)."""

    name: str
    role: str  # "read" or "write"
    email: str | None
    created: int  # unix seconds
    sha256: str  # of the secret, hex

    @property
    def may_write(self) -> bool:
        return self.role == "write"

    def identity(self) -> Identity:
        """Who the events this token writes are tagged by."""
        return Identity(self.name, self.email or "")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def validate_name(name: str) -> None:
    if len(name) > MAX_NAME_LENGTH or not NAME_RE.fullmatch(name):
        raise InvalidTokenError(
            f"invalid token name '{name}'",
            hint=f"use lowercase letters, digits, '.', '_' and '-' (at most {MAX_NAME_LENGTH}), "
            "starting and ending with a letter or digit",
        )


def validate_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidTokenError(f"invalid token role '{role}'", hint="use read or write")


def validate_email(email: str) -> None:
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        raise InvalidTokenError(f"invalid email '{email}'", hint="use name@example.com")


@dataclass(frozen=True)
class TokenSet:
    """The tokens of one store as read at one moment (immutable: a server swaps
    the whole set when the file changes)."""

    tokens: tuple[Token, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.tokens

    def find(self, name: str) -> Token | None:
        return next((t for t in self.tokens if t.name == name), None)

    def verify(self, secret: str) -> Token:
        """The token whose secret this is, or :class:`Unauthenticated`.

        Every stored hash is compared, each in constant time, so neither the
        answer's timing nor an early exit tells which token came close."""
        wanted = digest(secret)
        found: Token | None = None
        for token in self.tokens:
            if hmac.compare_digest(token.sha256, wanted):
                found = token
        if found is None:
            raise Unauthenticated(
                "the token is not known to this server",
                hint="it may have been removed; ask for a new one",
            )
        return found


def authorize(token: Token, writes: bool) -> None:
    """Refuse a write by a read token (:class:`Forbidden`)."""
    if writes and not token.may_write:
        raise Forbidden(
            f"token '{token.name}' may only read",
            hint="a write needs a token with the write role",
        )


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):  # unset, empty or relative: the XDG spec's default
        base = str(Path.home() / ".config")
    return Path(base) / "modelreg"


def store_path(git_common_dir: Path) -> Path:
    """The store file of the registry whose common git directory this is."""
    real = os.path.realpath(git_common_dir)
    folder = Path(real)
    label = folder.parent.name if folder.name == ".git" else folder.name
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.") or "registry"
    key = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return config_dir() / "tokens" / f"{label[:40]}-{key}.json"


class TokenStore:
    """The tokens of one registry, in one file (see the module's docstring)."""

    def __init__(self, path: Path, registry: str = "") -> None:
        self.path = path
        self.registry = registry  # recorded in the file, for people who open it

    @classmethod
    def for_registry(cls, git_common_dir: Path) -> TokenStore:
        return cls(store_path(git_common_dir), os.path.realpath(git_common_dir))

    @classmethod
    def of(cls, registry: Registry) -> TokenStore:
        return cls.for_registry(registry.git.common_dir)

    # --- reading -----------------------------------------------------------------

    def stamp(self) -> tuple[int, int, int, int] | None:
        """What changes whenever the file is rewritten (it is always replaced
        whole, so its inode changes too); None when there is no file."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenStoreError(f"cannot read the token store {self.path}: {exc}") from None
        return (st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size)

    def load(self) -> TokenSet:
        """Every token (no file: none). A file that cannot be read or parsed is an
        error, never an empty set: a server must not open up because of it."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return TokenSet()
        except OSError as exc:
            raise TokenStoreError(f"cannot read the token store {self.path}: {exc}") from None
        try:
            document = json.loads(raw)
            tokens = tuple(
                Token(
                    name=str(t["name"]),
                    role=str(t["role"]),
                    email=str(t["email"]) if t.get("email") else None,
                    created=int(t["created"]),
                    sha256=str(t["sha256"]),
                )
                for t in document["tokens"]
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise TokenStoreError(
                f"the token store {self.path} is damaged ({type(exc).__name__}: {exc})",
                hint="remove the file and add the tokens again",
            ) from None
        return TokenSet(tokens)

    def list(self) -> list[Token]:
        return sorted(self.load().tokens, key=lambda t: t.name)

    def verify(self, secret: str) -> Token:
        return self.load().verify(secret)

    # --- writing -----------------------------------------------------------------

    def add(self, name: str, role: str, email: str | None = None) -> tuple[Token, str]:
        """A new token and its secret (the only time the secret exists in full)."""
        validate_name(name)
        validate_role(role)
        if email is not None:
            validate_email(email)
        secret = new_secret()
        token = Token(
            name=name,
            role=role,
            email=email,
            created=int(dt.datetime.now(dt.UTC).timestamp()),
            sha256=digest(secret),
        )
        with self._locked():
            current = self.load()
            if current.find(name) is not None:
                raise TokenExistsError(
                    f"a token named '{name}' exists already",
                    hint="remove it first, or choose another name",
                )
            self._write([*current.tokens, token])
        return token, secret

    def remove(self, name: str) -> Token:
        with self._locked():
            current = self.load()
            found = current.find(name)
            if found is None:
                raise UnknownTokenError(
                    f"no token named '{name}'", hint="list the tokens to see their names"
                )
            self._write([t for t in current.tokens if t.name != name])
        return found

    def _locked(self) -> AbstractContextManager[None]:
        """One writer at a time (two ``token add`` at once must both land)."""
        from .lock import write_lock

        self._folder()
        return write_lock(self.path.with_suffix(".lock"))

    def _folder(self) -> None:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise TokenStoreError(f"cannot create {self.path.parent}: {exc}") from None

    def _write(self, tokens: Sequence[Token]) -> None:
        document = {
            "format": FORMAT,
            "registry": self.registry,
            "tokens": [
                {
                    "name": t.name,
                    "role": t.role,
                    "email": t.email,
                    "created": t.created,
                    "sha256": t.sha256,
                }
                for t in tokens
            ],
        }
        data = (json.dumps(document, indent=2) + "\n").encode()
        self._folder()
        # mkstemp creates the file with mode 0600; renaming it over the old one is atomic.
        fd, staged = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(staged, self.path)
        except BaseException as exc:
            with suppress(OSError):
                os.unlink(staged)
            if isinstance(exc, OSError):
                raise TokenStoreError(f"cannot write the token store {self.path}: {exc}") from None
            raise
