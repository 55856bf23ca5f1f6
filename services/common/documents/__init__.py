"""Documents citizens keep (issue #17): bilingual PDFs with a QR code, issued exactly once when
their step happens, stored with their version, downloadable by their holder and staff, and
checked by anyone on a public verification page. See `services/common/README.md`, "Documents".

A service declares `ServiceSpec(documents=DocumentsSpec(kinds=[...], collections=[...]))`; its
changes stage `issue(...)` / `revoke(...)` with `stage_documents(update, [...])` in the
aggregate's own write and call `runtime.documents.written(collection, key)` after it.
"""

from services.common.documents.model import (
    DocumentKind,
    Due,
    Row,
    State,
    issue,
    mask_name,
    revoke,
    state_of,
)
from services.common.documents.render import Content, render_pdf
from services.common.documents.store import (
    DOCUMENTS,
    DocumentIssuer,
    DocumentsSpec,
    DocumentStore,
    stage_documents,
    stage_new_documents,
)

__all__ = [
    "DOCUMENTS",
    "Content",
    "DocumentIssuer",
    "DocumentKind",
    "DocumentStore",
    "DocumentsSpec",
    "Due",
    "Row",
    "State",
    "issue",
    "mask_name",
    "render_pdf",
    "revoke",
    "stage_documents",
    "stage_new_documents",
    "state_of",
]
