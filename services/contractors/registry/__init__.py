"""The contractor and permit registry's import file: reading and checking it. Pure: it takes the
file's bytes and gives the contractors and permits to write, or every bad row (the store writes
them: `ContractorStore.import_registry`; the command-line tool is `__main__.py`).

One row per permit, the contractor's columns repeated on each of its permits:

    contractor_number,name_ar,name_en,classification,category,phone,permit_number,permit_year,
    valid_from,valid_to,permit_status

(`phone` may be empty; `permit_status` defaults to `active`; dates are `YYYY-MM-DD`). JSON is a
list of objects with the same keys, or `{"rows": [...]}`.

**All or nothing**: a file with any bad row imports nothing, and the answer lists every bad row by
line (CSV: the line in the file, the header being line 1; JSON: the row's position from 1) and
field. A good file is upserted: contractors by number, permits by number and year; importing the
same file again changes nothing (`unchanged`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from contracts import LocalizedText
from services.common.text import check_safe_text
from services.contractors.domain import (
    MAX_YEAR,
    MIN_YEAR,
    Contractor,
    DomainError,
    Permit,
    PermitStatus,
    check_phone,
    normalise_number,
)

# What an import writes (the report counts each; the store keeps each in its collection).
CONTRACTORS = "contractors"
PERMITS = "permits"
SAMPLE_FILE = Path(__file__).resolve().parent.parent / "sample_registry.csv"
MAX_ROWS = 50_000

COLUMNS = (
    "contractor_number",
    "name_ar",
    "name_en",
    "classification",
    "category",
    "phone",
    "permit_number",
    "permit_year",
    "valid_from",
    "valid_to",
    "permit_status",
)
REQUIRED = tuple(c for c in COLUMNS if c not in ("phone", "permit_status"))


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str
    message_ar: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "message_ar": self.message_ar,
        }


@dataclass
class Parsed:
    contractors: dict[str, Contractor] = field(default_factory=dict)
    permits: dict[str, Permit] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0


class BadFile(Exception):
    """The file as a whole cannot be read (not CSV/JSON, no header, too big)."""

    def __init__(self, detail: str, detail_ar: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_ar = detail_ar


def read_rows(content: bytes, kind: str) -> list[tuple[int, dict[str, Any]]]:
    """(line, row) pairs of a CSV or JSON file."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadFile("The file is not UTF-8 text", "الملف ليس نصاً بترميز UTF-8") from None
    if kind == "json":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            # RecursionError: brackets nested deeper than the parser follows (e.g. 100,000 "[").
            raise BadFile("The file is not valid JSON", "الملف ليس بصيغة JSON صحيحة") from None
        if isinstance(data, dict):
            data = data.get("rows")
        if not isinstance(data, list):
            raise BadFile(
                'JSON must be a list of rows, or {"rows": [...]}',
                'يجب أن يكون ملف JSON قائمة صفوف أو {"rows": [...]}',
            )
        return [(index, row if isinstance(row, dict) else {}) for index, row in enumerate(data, 1)]
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _csv_rows(reader)
    except csv.Error:
        # A field longer than csv's limit (131,072 characters), a NUL, an unclosed quote, ...
        raise BadFile(
            "The file is not a readable CSV (a field too long, or a broken quote)",
            "الملف ليس بصيغة CSV مقروءة (حقل طويل جدًا أو علامة اقتباس غير مغلقة)",
        ) from None


def _csv_rows(reader: csv.DictReader[str]) -> list[tuple[int, dict[str, Any]]]:
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise BadFile(
            f"The CSV header lacks the columns: {', '.join(missing)}",
            f"ينقص ترويسة الملف الأعمدة: {', '.join(missing)}",
        )
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, Any]]] = []
    for row in reader:
        rows.append((reader.line_num, {k: v for k, v in row.items() if k is not None}))
    return rows


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if value is None:
        return ""
    return " ".join(str(value).split())


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def parse(content: bytes, kind: str) -> Parsed:
    """Check every row; collect contractors and permits, or the errors of every bad row."""
    rows = read_rows(content, kind)
    if len(rows) > MAX_ROWS:
        raise BadFile(
            f"At most {MAX_ROWS} rows per file", f"الحد الأقصى {MAX_ROWS} صف في الملف الواحد"
        )
    if not rows:
        raise BadFile("The file has no rows", "الملف لا يحتوي على صفوف")
    parsed = Parsed(rows=len(rows))
    for line, row in rows:
        _parse_row(parsed, line, row)
    return parsed


def _parse_row(parsed: Parsed, line: int, row: dict[str, Any]) -> None:
    errors: list[RowError] = []

    def bad(name: str, message: str, message_ar: str) -> None:
        errors.append(RowError(line, name, message, message_ar))

    for name in REQUIRED:
        if not _text(row, name):
            bad(name, "This value is required", "هذه القيمة مطلوبة")
    number = normalise_number(_text(row, "contractor_number"))
    if _text(row, "contractor_number") and number is None:
        bad("contractor_number", "Letters, digits, '-' or '/', up to 30", "رقم غير صالح")
    permit_number = normalise_number(_text(row, "permit_number"))
    if _text(row, "permit_number") and permit_number is None:
        bad("permit_number", "Letters, digits, '-' or '/', up to 30", "رقم غير صالح")
    year_text = _text(row, "permit_year")
    year = int(year_text) if year_text.isdigit() else None
    if year_text and (year is None or not MIN_YEAR <= year <= MAX_YEAR):
        bad(
            "permit_year",
            f"A year between {MIN_YEAR} and {MAX_YEAR}",
            f"سنة بين {MIN_YEAR} و{MAX_YEAR}",
        )
    dates: dict[str, date | None] = {}
    for name in ("valid_from", "valid_to"):
        raw = _text(row, name)
        dates[name] = _date(raw) if raw else None
        if raw and dates[name] is None:
            bad(name, "A date as YYYY-MM-DD", "تاريخ بالصيغة YYYY-MM-DD")
    start, end = dates["valid_from"], dates["valid_to"]
    if start is not None and end is not None and end < start:
        bad("valid_to", "valid_to is before valid_from", "تاريخ الانتهاء قبل تاريخ البدء")
    phone: str | None = None
    if _text(row, "phone"):
        try:
            phone = check_phone(_text(row, "phone"))
        except DomainError:
            bad("phone", "A Jordanian mobile number", "رقم هاتف خلوي أردني")
    status_text = _text(row, "permit_status").lower() or PermitStatus.ACTIVE.value
    if status_text not in {s.value for s in PermitStatus}:
        bad(
            "permit_status",
            "One of: " + ", ".join(s.value for s in PermitStatus),
            "إحدى القيم: " + "، ".join(s.value for s in PermitStatus),
        )
    for name in ("name_ar", "name_en", "classification", "category"):
        if len(_text(row, name)) > 200:
            bad(name, "At most 200 characters", "بحد أقصى 200 حرف")
        try:
            check_safe_text(_text(row, name))
        except ValueError:
            # A name goes into SMS and onto the inquiry screen: no NUL, no bidi override.
            bad(
                name,
                "No control characters or bidirectional overrides",
                "بلا محارف تحكم أو محارف اتجاه الكتابة",
            )
    if errors:
        parsed.errors.extend(errors)
        return
    assert number and permit_number and year and start and end
    contractor = Contractor(
        number=number,
        name=LocalizedText(ar=_text(row, "name_ar"), en=_text(row, "name_en")),
        classification=_text(row, "classification").lower(),
        category=_text(row, "category"),
        phone=phone,
    )
    known = parsed.contractors.get(number)
    if known is not None and known != contractor:
        parsed.errors.append(
            RowError(
                line,
                "contractor_number",
                "This contractor appears earlier in the file with other details",
                "هذا المقاول مذكور سابقاً في الملف ببيانات مختلفة",
            )
        )
        return
    permit = Permit(
        contractor_number=number,
        number=permit_number,
        year=year,
        valid_from=start,
        valid_to=end,
        status=PermitStatus(status_text),
    )
    if permit.id in parsed.permits:
        parsed.errors.append(
            RowError(
                line,
                "permit_number",
                "This permit number and year appear earlier in the file",
                "رقم التصريح وسنته مذكوران سابقاً في الملف",
            )
        )
        return
    parsed.contractors[number] = contractor
    parsed.permits[permit.id] = permit


@dataclass
class Report:
    """What an import changed: contractors and permits created, updated, unchanged."""

    rows: int = 0
    created: dict[str, int] = field(default_factory=lambda: {CONTRACTORS: 0, PERMITS: 0})
    updated: dict[str, int] = field(default_factory=lambda: {CONTRACTORS: 0, PERMITS: 0})
    unchanged: dict[str, int] = field(default_factory=lambda: {CONTRACTORS: 0, PERMITS: 0})

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def kind_of(path: Path) -> str:
    """A file's kind from its name: `.json` is JSON, anything else CSV."""
    return "json" if path.suffix.lower() == ".json" else "csv"
