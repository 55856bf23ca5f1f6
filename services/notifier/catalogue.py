"""The SMS catalogue: which templates exist, what sends each, and their Arabic and English texts.

Templates are data, under `templates/`: `catalogue.json` lists them (name, trigger, when it is
sent, a sample of its values), and each has one Jinja2 file a language, `<name>.ar.j2` and
`<name>.en.j2`. An **event** template is named after the event type it answers, and the notifier
binds exactly those event types; a **command** template is named in a `notifier.sms.send`
command. Adding an SMS is adding the two files and the entry: no code.

The README's catalogue and state diagram are generated from here and from the workflow table:

    .venv/bin/python -m services.notifier.catalogue           rewrite them
    .venv/bin/python -m services.notifier.catalogue --check   exit 1 if the README is out of date
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import BaseModel

from contracts import REGISTRY, EventRegistry
from services.common.readme import readme_main, replace_section
from services.notifier.domain import (
    LANGUAGES,
    TRANSITIONS,
    amman_clock,
    amman_date,
    amman_time,
    count_segments,
    deadline_text,
    end_sentence,
    format_jod,
    one_line,
    shorten,
    template_file,
)

TEMPLATES_DIR = Path(__file__).resolve().with_name("templates")
CATALOGUE_FILE = "catalogue.json"
README = Path(__file__).resolve().with_name("README.md")

Trigger = Literal["event", "command"]


class UnknownTemplate(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no SMS template named {name!r}")
        self.name = name


class TemplateError(ValueError):
    """A template could not be rendered with the values given (a missing value, a bad type)."""


@dataclass(frozen=True)
class TemplateEntry:
    name: str
    trigger: Trigger
    when: str
    sample: Mapping[str, Any]


def event_context(data: BaseModel) -> dict[str, Any]:
    """What an event template sees: the event's data, with times and amounts as Python values."""
    return data.model_dump()


def command_context(values: Mapping[str, str], expires_at: datetime | None) -> dict[str, Any]:
    """What a command template sees: the command's values, and when it stops being valid."""
    return {**values, "expires_at": expires_at}


class Catalogue:
    """The loaded templates. Every file is compiled at load, so a missing one stops the start."""

    def __init__(self, entries: Sequence[TemplateEntry], directory: Path = TEMPLATES_DIR) -> None:
        self._entries = {entry.name: entry for entry in entries}
        self._directory = directory
        self._environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            # SMS are plain text; a value missing from the event is an error, never a blank.
            autoescape=False,
            undefined=jinja2.StrictUndefined,
        )
        self._environment.filters.update(
            jod=format_jod,
            amman_date=amman_date,
            amman_time=amman_time,
            deadline=deadline_text,
            amman_clock=amman_clock,
            shorten=shorten,
            sentence=end_sentence,
        )
        self._templates = {
            (entry.name, lang): self._environment.get_template(template_file(entry.name, lang))
            for entry in entries
            for lang in LANGUAGES
        }

    @property
    def entries(self) -> list[TemplateEntry]:
        """Event templates first, then command templates, each by name."""
        return sorted(
            self._entries.values(), key=lambda entry: (entry.trigger != "event", entry.name)
        )

    def event_types(self) -> list[str]:
        """The event types that have a template: exactly those the notifier binds."""
        return [entry.name for entry in self.entries if entry.trigger == "event"]

    def entry(self, name: str, trigger: Trigger) -> TemplateEntry:
        found = self._entries.get(name)
        if found is None or found.trigger != trigger:
            raise UnknownTemplate(name)
        return found

    def render(self, name: str, lang: str, context: Mapping[str, Any]) -> str:
        """The SMS text of a template in a language (Arabic when the language is unknown)."""
        template = self._templates.get((name, lang if lang in LANGUAGES else LANGUAGES[0]))
        if template is None:
            raise UnknownTemplate(name)
        try:
            return one_line(template.render(context))
        except (jinja2.UndefinedError, TypeError, ValueError) as error:
            raise TemplateError(f"template {name} ({lang}) cannot be rendered: {error}") from None

    def source(self, name: str, lang: str) -> str:
        return (self._directory / template_file(name, lang)).read_text(encoding="utf-8").strip()

    def sample_context(self, entry: TemplateEntry, registry: EventRegistry = REGISTRY) -> Any:
        """The context of the entry's sample, as the notifier would build it from a message."""
        if entry.trigger == "event":
            return event_context(registry.parse_data(entry.name, entry.sample))
        values = {key: str(value) for key, value in entry.sample.items() if key != "expires_at"}
        expires_at = entry.sample.get("expires_at")
        return command_context(values, datetime.fromisoformat(expires_at) if expires_at else None)


def load(directory: Path = TEMPLATES_DIR) -> Catalogue:
    raw = json.loads((directory / CATALOGUE_FILE).read_text(encoding="utf-8"))
    entries = [
        TemplateEntry(
            name=item["name"], trigger=item["trigger"], when=item["when"], sample=item["sample"]
        )
        for item in raw["templates"]
    ]
    for entry in entries:
        if entry.trigger not in ("event", "command"):
            raise ValueError(f"{entry.name}: trigger must be event or command")
    return Catalogue(entries, directory)


# ---- the README's generated sections ------------------------------------------------------------

CATALOGUE_BEGIN = "<!-- BEGIN GENERATED: SMS catalogue (python -m services.notifier.catalogue) -->"
CATALOGUE_END = "<!-- END GENERATED: SMS catalogue -->"
STATES_BEGIN = "<!-- BEGIN GENERATED: message states (python -m services.notifier.catalogue) -->"
STATES_END = "<!-- END GENERATED: message states -->"
_LANGUAGE_NAMES = {"ar": "Arabic (default)", "en": "English"}


def catalogue_section(catalogue: Catalogue) -> str:
    lines: list[str] = []
    for entry in catalogue.entries:
        sent_by = (
            f"event `{entry.name}`"
            if entry.trigger == "event"
            else f"command `notifier.sms.send` with `template: {entry.name}`"
        )
        lines += [f"#### `{entry.name}`", "", f"**Sent on:** {sent_by}. {entry.when}", ""]
        context = catalogue.sample_context(entry)
        for lang in LANGUAGES:
            text = catalogue.render(entry.name, lang, context)
            segments = count_segments(text)
            lines += [
                f"{_LANGUAGE_NAMES[lang]}, `templates/{template_file(entry.name, lang)}`:",
                "",
                "```jinja",
                catalogue.source(entry.name, lang),
                "```",
                "",
                f"> {text}",
                "",
                f"(the sample: {segments.characters} characters, {segments.encoding}, "
                f"{segments.count} segment{'s' if segments.count > 1 else ''})",
                "",
            ]
    return "\n".join(lines)


def states_section() -> str:
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> queued"]
    for state, moves in TRANSITIONS.items():
        for target in moves:
            lines.append(f"    {_node(state)} --> {_node(target)}")
        if not moves:
            lines.append(f"    {_node(state)} --> [*]")
    lines += ["```", "", "| from | to | when |", "|---|---|---|"]
    for state, moves in TRANSITIONS.items():
        for target, why in moves.items():
            lines.append(f"| `{state}` | `{target}` | {why} |")
    return "\n".join(lines) + "\n"


def _node(state: Any) -> str:
    return str(state.value).replace("-", "_")


def render_readme(text: str, catalogue: Catalogue) -> str:
    text = replace_section(text, CATALOGUE_BEGIN, CATALOGUE_END, catalogue_section(catalogue))
    return replace_section(text, STATES_BEGIN, STATES_END, states_section())


def main(argv: Sequence[str] | None = None) -> int:
    return readme_main(
        "python -m services.notifier.catalogue",
        README,
        lambda text: render_readme(text, load()),
        "Rewrite the notifier README's SMS catalogue and state diagram.",
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
