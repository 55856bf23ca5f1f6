"""Wiring of the licensing service: its router, indexes, bill queue and the SLA sweeper."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.common.documents import DocumentsSpec
from services.common.runtime import Runtime, ServiceSpec, create_app
from services.common.sweeper import DeadlineSweeper
from services.licensing import api, consumers, store
from services.licensing.domain import LICENCE, ReferenceData
from services.licensing.service import Licensing
from services.licensing.settings import LicensingSettings

DESCRIPTION = """A first professional (vocational) licence for a business inside a camp (seed 000).

Individuals and businesses apply with the occupancy permit and a lease contract or the
housing-unit allocation document; the clerk checks the documents, the inspector inspects the
premises, the committee decides (after other authorities' approvals when needed); the approved fee
(by profession and area, from the fee schedule) is billed by payments and the licence issued on
payment, with a public link; the licence is also a bilingual PDF with a QR code to its public
verification page (`/v1/documents`, `/v1/verify`). Each step is an SMS to the applicant."""


def build(settings: LicensingSettings | None = None) -> FastAPI:
    settings = settings or LicensingSettings()
    data = settings.reference_data()

    def setup(runtime: Runtime) -> Licensing:
        return Licensing(
            store.LicensingStore(runtime.db, runtime.outbox, runtime.documents),
            data,
            runtime.clock,
            runtime.calendar,
            settings,
        )

    def sweepers(runtime: Runtime) -> list[DeadlineSweeper]:
        licensing: Licensing = runtime.service
        return [
            runtime.sweeper(
                "sla", licensing.store.requests, licensing.check_sla, field=store.SLA_CHECK_AT
            )
        ]

    spec = ServiceSpec(
        name="licensing",
        title="Licensing",
        description=DESCRIPTION,
        routers=[api.router],
        indexes=store.INDEXES,
        outbox_collections=[store.REQUESTS],
        setup=setup,
        consumers=consumers.consumers,
        sweepers=sweepers,
        # The licence's PDF, staged by step 9 in the request's own write (`domain/licence.py`).
        documents=DocumentsSpec(kinds=[LICENCE], collections=[store.REQUESTS]),
    )
    app = create_app(spec, settings)
    _publish_codes(app, data)
    return app


def _publish_codes(app: FastAPI, data: ReferenceData) -> None:
    """The published schema lists the codes the reference files hold (the files are settings,
    so the list is made here, from what was loaded): camps and professions of a request and of a
    quote, and the authorities an approval can come from, as enums."""
    codes = {
        "camp": [camp.code for camp in data.camps.camps],
        "profession": [profession.code for profession in data.fees.professions],
        "authority": [authority.code for authority in data.authorities.authorities],
    }
    build_document = app.openapi
    published: list[bool] = []

    def openapi() -> dict[str, Any]:
        document = build_document()
        if not published:
            for schema in document.get("components", {}).get("schemas", {}).values():
                for name, field in schema.get("properties", {}).items():
                    if name in codes and field.get("type") == "string":
                        field["enum"] = codes[name]
            for path_item in document.get("paths", {}).values():
                for operation in path_item.values():
                    for parameter in operation.get("parameters", []):
                        if parameter.get("name") in codes:
                            parameter["schema"]["enum"] = codes[parameter["name"]]
            published.append(True)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
