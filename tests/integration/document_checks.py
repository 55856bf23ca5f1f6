"""Checking an issued document from the outside: its text as `pdftotext` extracts it (Debian's
poppler-utils), its first page as a PNG (a build artifact a person can look at), the QR code read
from that picture (`zxing-cpp`), the caller's documents and the public verification page. Used by
`test_documents.py` (the machinery, through testsvc) and by each service's document tests."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import zxingcpp
from PIL import Image

from tests.integration.conftest import ROOT, eventually

ARTIFACTS = ROOT / ".local" / "artifacts" / "documents"
# Bidirectional controls pdftotext puts around runs of each direction (not part of the text).
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def extracted(text: str) -> str:
    """pdftotext's output as compared here: without its bidi controls and without whitespace.

    poppler moves a space across a change of direction (`رقم NT-1` comes out as `رقم  NT-1`
    or `رقمNT-1 `), so spaces are not compared; every letter, digit and sign is, in order."""
    return re.sub(r"\s+", "", _BIDI_CONTROLS.sub("", text))


_LINE = re.compile(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">')


def pdf_text(pdf: Path) -> str:
    """The first page's text, line by line, as pdftotext extracts each line on its own.

    pdftotext orders the runs of a line that mixes Arabic and Latin by the direction most of
    the *page's* characters have (poppler's `primaryLR`): on a bilingual page with more Latin, an
    Arabic sentence holding a number would come out with its runs left to right. Each line
    (found with `-bbox-layout`) is therefore extracted on its own (`-x -y -W -H`), where its own
    characters decide, as a reader of that line does."""
    layout = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-bbox-layout", str(pdf), "-"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    lines = []
    for match in _LINE.finditer(layout):
        x_min, y_min, x_max, y_max = (float(value) for value in match.groups())
        crop = [
            "-x", str(int(x_min) - 1), "-y", str(int(y_min)),
            "-W", str(int(x_max - x_min) + 3), "-H", str(int(y_max - y_min) + 1),
        ]  # fmt: skip
        result = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", "-enc", "UTF-8", *crop, str(pdf), "-"],
            capture_output=True,
            check=True,
        )
        lines.append(result.stdout.decode().strip())
    return "\n".join(lines)


def page_png(pdf: Path, name: str) -> Path:
    """The first page as a PNG (150 dpi), kept as a build artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = ARTIFACTS / name
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(stem)], check=True
    )
    return stem.with_suffix(".png")


def qr_texts(png: Path) -> list[str]:
    with Image.open(png) as image:
        return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


async def call(
    url: str,
    method: str,
    path: str,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> httpx.Response:
    sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await client.request(method, path, headers=sent, **options)


async def documents_of(url: str, token: str, count: int) -> list[dict[str, Any]]:
    """The caller's documents, once there are `count` of them (newest first)."""

    async def listed() -> list[dict[str, Any]] | None:
        response = await call(url, "GET", "/v1/documents", token)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items if len(items) >= count else None

    found: list[dict[str, Any]] = await eventually(
        listed, timeout=60, message=f"{count} document(s) issued"
    )
    return found


def verification_path(document: dict[str, Any]) -> str:
    return "/v1/verify/" + document["verification_url"].rsplit("/", 1)[1]


async def verified(url: str, document: dict[str, Any]) -> dict[str, Any]:
    response = await call(url, "GET", verification_path(document), params={"format": "json"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def page_state(url: str, document: dict[str, Any]) -> str:
    response = await call(url, "GET", verification_path(document))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    match = re.search(r'id="state" data-state="([a-z]+)"', response.text)
    assert match, response.text
    return match[1]
