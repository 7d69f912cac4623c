"""The API fuzzed from its own ``/openapi.json`` (schemathesis) against the real
server on the showcase registry: no answer is a 5xx, and every answer is one the
schema documents (its status, its media type, its JSON shape).

Bounded and repeatable: a fixed number of examples per operation, derandomized
(the same requests on every run), no example database.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ..conftest import Showcase
from .conftest import Server

EXAMPLES = 20
"""Examples per operation and mode: ~20 operations x 2 modes stay within a minute."""

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def server(showcase: Showcase, serve: Callable[..., Server]) -> Server:
    return serve(showcase.root)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_answer_is_a_5xx_and_every_answer_is_documented(
    server: Server, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # the schema's examples name the showcase's versions: real answers, not only 404s
        examples = schema.get_strategies_from_examples(operation) if mode == "positive" else []
        strategy = st.one_of(operation.as_strategy(generation_mode=mode), *examples)

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(base_url=server.url, timeout=60)
            case.validate_response(response, checks=CHECKS)

        try:
            fuzz()
        except Unsatisfiable:
            continue  # nothing in it can break the schema (no parameters, no body)
        except Exception as exc:
            failures.append(f"{operation.label}:\n{exc}")
    assert not failures, "\n\n".join(failures)
