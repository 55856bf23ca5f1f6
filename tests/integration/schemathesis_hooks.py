"""schemathesis hooks for `test_schemathesis.py` (loaded through `SCHEMATHESIS_HOOKS`).

`valid_data_passes_validation`: data generated as valid for the published schema may be refused
by a business rule (a 422 `invalid` problem), never by validation (a 422 `validation` problem,
or a 400): that would mean the published schema is looser than what the service accepts.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response

VALIDATION = "https://api.amman.jo/problems/validation"


@schemathesis.check
def valid_data_passes_validation(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    meta: Any = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 422):
        return None
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    kind = problem.get("type") if isinstance(problem, dict) else None
    if response.status_code == 400 or kind == VALIDATION:
        errors = problem.get("errors") if isinstance(problem, dict) else None
        raise AssertionError(
            f"data valid for the published schema was refused by validation "
            f"({response.status_code} {kind}): {errors}"
        )
    return None
