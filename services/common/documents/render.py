"""A document's PDF: one bilingual template, WeasyPrint (Pango and HarfBuzz shape the Arabic), a
QR code (segno) that points at the public verification page.

Pure and synchronous (no database, no clock): `render_pdf(content)` returns the PDF's bytes.
The issuer runs it in a worker thread.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import segno
from jinja2 import Environment, PackageLoader, select_autoescape

from services.common.documents.model import Row
from services.common.formatting import amman_date

# WeasyPrint logs each step of every render at INFO: only its warnings reach the service's log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

MUNICIPALITY_EN = "Greater Amman Municipality"
MUNICIPALITY_AR = "أمانة عمّان الكبرى"


@dataclass(frozen=True)
class Content:
    """Everything one PDF shows."""

    title_en: str
    title_ar: str
    number: str
    version: int
    holder: str
    rows: tuple[Row, ...]
    issued_at: datetime
    valid_until: date | None
    verification_url: str


def direction(text: str) -> str:
    """`rtl` when the first letter with a strong direction is Arabic (or Hebrew), else `ltr`:
    the rule of HTML's `dir="auto"`, which WeasyPrint does not apply itself."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def qr_svg_uri(url: str) -> str:
    """The QR code of `url` as an SVG data URI (error correction M, no quiet zone: the page's
    margin is one)."""
    return str(segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=0))


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("services.common.documents", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )


def render_html(content: Content) -> str:
    """The document's HTML, as WeasyPrint lays it out."""
    template = _environment().get_template("document.html.j2")
    rows: list[dict[str, Any]] = [
        {
            "label_en": row.label_en,
            "label_ar": row.label_ar,
            "value": row.value,
            "dir": direction(row.value),
        }
        for row in content.rows
    ]
    return template.render(
        municipality_en=MUNICIPALITY_EN,
        municipality_ar=MUNICIPALITY_AR,
        content=content,
        holder_dir=direction(content.holder),
        rows=rows,
        issued=amman_date(content.issued_at),
        valid_until=amman_date(content.valid_until) if content.valid_until else None,
        qr=qr_svg_uri(content.verification_url),
    )


def render_pdf(content: Content) -> bytes:
    """The document's PDF (A4, fonts embedded and subset)."""
    from weasyprint import HTML, URLFetcher  # imported here: loading Pango takes a moment

    # The template's own data URIs (the QR code) only: a document fetches nothing.
    fetcher = URLFetcher(allowed_protocols=["data"])
    pdf: bytes = HTML(string=render_html(content), url_fetcher=fetcher).write_pdf(
        pdf_identifier=f"{content.number}-v{content.version}".encode(),
    )
    return pdf
