"""Render time of one document, beside a baseline measured in the same run.

    .venv/bin/python -m bench.documents [--rounds 20]

- document: the note certificate as the issuer renders it (`render_pdf`): the bilingual template,
  Arabic shaped by Pango/HarfBuzz in Amiri, the QR code, fonts subset and embedded;
- baseline: the same template with the data's Arabic (title, labels, holder, statement) replaced
  by English: what the Arabic of the data costs (the template's own Arabic header and footer
  stay, as on every document);
- floor: WeasyPrint's least, a one-line Latin page in the same font (no QR, no table);
- cold: the first render in a fresh process (WeasyPrint's import, fontconfig, Pango's set-up),
  which each service process pays once, for its first document.

Prints p50 and p95 in milliseconds, the PDF's size, and the ratios to the baseline and the floor.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime

from services.common.documents.render import Content, Row, render_pdf

ARABIC = Content(
    title_en="Note certificate",
    title_ar="شهادة ملاحظة",
    number="NT-2026-000123",
    version=1,
    holder="محمد أحمد العلي",
    rows=(
        Row("Note", "الملاحظة", "Shoe repair workshop"),
        Row("Fee paid", "الرسم المدفوع", "12.500 JOD"),
        Row("Statement", "البيان", "ملاحظة رقم NT-2026-000123 بمبلغ 12.500 دينار أردني"),
    ),
    issued_at=datetime(2026, 12, 5, 10, 0, tzinfo=UTC),
    valid_until=date(2027, 12, 4),
    verification_url="https://eservices.amman.jo/testsvc/v1/verify/q3Zk9fXb2LwPz0cVt1rYs8Ue",
)
LATIN = Content(
    title_en=ARABIC.title_en,
    title_ar=ARABIC.title_en,
    number=ARABIC.number,
    version=1,
    holder="Mohammad Ahmad Al-Ali",
    rows=(
        Row("Note", "Note", "Shoe repair workshop"),
        Row("Fee paid", "Fee paid", "12.500 JOD"),
        Row("Statement", "Statement", "Note NT-2026-000123 for 12.500 Jordanian dinars"),
    ),
    issued_at=ARABIC.issued_at,
    valid_until=ARABIC.valid_until,
    verification_url=ARABIC.verification_url,
)

FLOOR_HTML = '<p style="font-family: Amiri">Greater Amman Municipality</p>'

_COLD = """
import time
started = time.perf_counter()
from bench.documents import ARABIC
from services.common.documents.render import render_pdf
render_pdf(ARABIC)
print(time.perf_counter() - started)
"""


def timed(content: Content, rounds: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        size = len(render_pdf(content))
        times.append((time.perf_counter() - started) * 1000)
    return times, size


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()

    cold = [
        float(
            subprocess.run(
                [sys.executable, "-c", _COLD], capture_output=True, text=True, check=True
            ).stdout
        )
        * 1000
        for _ in range(args.cold_runs)
    ]
    render_pdf(ARABIC)  # warm this process: the import and Pango's set-up, once
    # Interleaved, so both see the same machine.
    from weasyprint import HTML

    document: list[float] = []
    baseline: list[float] = []
    floor: list[float] = []
    size_doc = size_base = 0
    for _ in range(args.rounds):
        times, size_doc = timed(ARABIC, 1)
        document += times
        times, size_base = timed(LATIN, 1)
        baseline += times
        started = time.perf_counter()
        HTML(string=FLOOR_HTML).write_pdf()
        floor.append((time.perf_counter() - started) * 1000)
    d50, b50 = statistics.median(document), statistics.median(baseline)
    print(f"rounds: {args.rounds} (interleaved), renderer: WeasyPrint {_version()}")
    print(f"{'':10} {'p50 ms':>8} {'p95 ms':>8} {'PDF bytes':>10}")
    print(f"{'document':10} {d50:8.0f} {p95(document):8.0f} {size_doc:10d}")
    print(f"{'baseline':10} {b50:8.0f} {p95(baseline):8.0f} {size_base:10d}")
    print(f"{'floor':10} {statistics.median(floor):8.0f} {p95(floor):8.0f} {'':>10}")
    print(f"{'cold':10} {statistics.median(cold):8.0f} {max(cold):8.0f} {'':>10}  (first render)")
    print(f"document/baseline: p50 {d50 / b50:.2f}x, p95 {p95(document) / p95(baseline):.2f}x")
    print(f"document/floor: p50 {d50 / statistics.median(floor):.2f}x")
    print(f"cold/document p50: {statistics.median(cold) / d50:.1f}x")


def _version() -> str:
    import weasyprint

    return str(weasyprint.__version__)


if __name__ == "__main__":
    main()
