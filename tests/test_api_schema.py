"""The OpenAPI document tells the truth: schemathesis generates requests for every operation (as an
enterprise and as an admin, on SQLite and PostgreSQL) and checks that none gets a 500 and every answer —
errors included — has a status and a body the schema declares. Bounded (few examples an operation) so
the suite stays fast.

(schemathesis's own pytest plugin does not run under pytest 9 yet, so the operations are driven with
hypothesis directly, one strategy an operation.)"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api_helpers import make_world
from cbec.store.db import Store

EXAMPLES = 6
#: no 500s; status, content type and body as declared (schema-valid data the API still refuses on its
#: own grounds, such as a credit code failing its checksum, is not a schema lie and is not checked)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_answers_as_documented(store: Store) -> None:
    world = make_world(store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    keys = (world.keys["ebc"], world.keys["admin"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def check(case: Any) -> None:
            for key in keys:
                case.call_and_validate(headers={"X-API-Key": key}, checks=CHECKS)

        check()
