"""What may be committed in .dvc/config (pure checks; the CLI paths are tested in
the remote command tests)."""

from __future__ import annotations

import pytest

from modelreg.credentials import (
    is_secret,
    refuse_password_in_url,
    shared_options,
    validate_remote_name,
)
from modelreg.errors import InvalidNameError, ModelregError


@pytest.mark.parametrize(
    "key", ["secret_access_key", "access_key_id", "password", "Account_Key", "sas_token"]
)
def test_credential_option_names_are_secret(key: str) -> None:
    assert is_secret(key)


@pytest.mark.parametrize("key", ["endpointurl", "region", "user", "port", "profile"])
def test_ordinary_option_names_are_not_secret(key: str) -> None:
    assert not is_secret(key)


def test_shared_options_add_the_endpoint_and_refuse_a_secret() -> None:
    assert shared_options({"region": "eu"}, "http://127.0.0.1:9000") == {
        "region": "eu",
        "endpointurl": "http://127.0.0.1:9000",
    }
    with pytest.raises(ModelregError, match="'secret_access_key' is a credential"):
        shared_options({"secret_access_key": "x", "region": "eu"}, None)


@pytest.mark.parametrize("name", ["../x", "", "-lead", "a b", "x" * 64])
def test_bad_remote_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError):
        validate_remote_name(name)


def test_a_password_in_the_url_is_refused_but_a_user_is_not() -> None:
    refuse_password_in_url("ssh://deploy@host/srv/models")
    refuse_password_in_url("s3://bucket/path:with@odd")  # not in the authority
    refuse_password_in_url("/srv/models")
    with pytest.raises(ModelregError, match="holds a password"):
        refuse_password_in_url("ssh://deploy:hunter2@host/srv/models")
