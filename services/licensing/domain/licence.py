"""The professional licence as a document a citizen keeps (issue #17): its kind, and the PDF
staged by the step that issues the licence (step 9, the fee paid).

Pure: the `Due` entry is returned with the change (as its events are) and the store stages it in
the same versioned write (`services/common/documents`). The workflow has no step that withdraws
an issued licence (`licensed` is final), so nothing here revokes one.
"""

from __future__ import annotations

from services.common.documents.model import DocumentKind, Due, Row, issue
from services.common.formatting import AMMAN
from services.licensing.domain.request import Licence, LicenceRequest
from services.licensing.domain.workflow import STAFF_ROLES

# The holder is a person (an individual applicant) or an establishment; the public verification
# page masks it either way (one kind, one rule: a person's name is never shown whole there).
LICENCE = DocumentKind(
    "licence",
    "Professional licence",
    "رخصة مهن",
    staff_roles=STAFF_ROLES,
    holder_is_person=True,
)
# The step whose document this is: a redelivered payment staged twice issues it once.
ISSUED_ON = "issued"


def licence_holder(request: LicenceRequest) -> str:
    """Whom the licence is issued to: the establishment for a business, else the applicant."""
    return request.business.establishment_name if request.business else request.applicant.name


def licence_document(request: LicenceRequest, licence: Licence) -> Due:
    """The licence's PDF: what a holder shows and a verifier checks. Besides the number, the
    holder and the dates the document always has: the trade name, the profession, the camp and
    the licensed area, the licence's terms (Arabic values, as the reference data names them).
    The shared A4 page holds four rows of a service beside the dates and its QR code, so the
    address (on the licence's page and the request) and the fee (on payments' receipt) are not
    repeated here; no phone, no identity number."""
    rows = [
        Row("Trade name", "الاسم التجاري", request.trade_name),
        Row("Profession", "المهنة", request.profession.ar),
        Row("Camp", "المخيم", request.camp.ar),
        Row("Licensed area", "المساحة المرخصة", f"{request.area_m2:g} m²"),
    ]
    return issue(
        LICENCE,
        licence.number,
        owner=request.owner_subject,
        holder=licence_holder(request),
        rows=rows,
        issued_at=licence.issued_at,
        valid_until=licence.valid_until.astimezone(AMMAN).date(),
        once=ISSUED_ON,
    )
