"""Loading the exam catalogue (`catalogue.json` beside this file, or `EXAMS_CATALOGUE_FILE`).

The catalogue is data: the exams the Knowledge Stations hold, their subjects (the seed sets the
fee by subject), the granting body and minimum candidates of each official exam, and the centres.
The shipped file is sample data that a municipality replaces. It is read and checked once at
start-up, so a broken catalogue stops the service instead of failing a citizen's request.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from services.exams.domain import Catalogue

DEFAULT_FILE = Path(__file__).resolve().with_name("catalogue.json")


class CatalogueError(ValueError):
    """The catalogue file is missing, is not JSON, or breaks the catalogue's rules."""


def load(path: Path | None = None) -> Catalogue:
    source = path or DEFAULT_FILE
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
        return Catalogue.model_validate(raw)
    except (OSError, ValueError, ValidationError) as error:
        raise CatalogueError(f"exam catalogue {source}: {error}") from error
