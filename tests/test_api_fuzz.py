"""Property-based fuzzing of every operation in the OpenAPI schema: no input may produce a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from backend.app import create_app
from backend.local_server import serve_in_background
from tests.helpers import server_settings

EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def base_url(tiny_weights):
    with serve_in_background(create_app(server_settings(tiny_weights))) as url:
        yield url


@pytest.mark.timeout(120)
def test_no_operation_answers_5xx(base_url):
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/translate", "/segment", "/sketch", "/style-code", "/models"}
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case) -> None:
            case.call_and_validate(base_url=base_url, checks=[not_a_server_error])

        fuzz()
