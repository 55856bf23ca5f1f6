"""The registry's command-line tool: import a CSV or JSON file (all or nothing).

    .venv/bin/python -m services.contractors.registry import registry.csv
    .venv/bin/python -m services.contractors.registry import registry.json

(the database from `MONGO_URL` / `MONGO_DATABASE`, as the service reads them). Exit 0 with the
report as JSON; 1 listing `file:line: field: message` for each bad row (nothing imported); 2 for a
file that cannot be read at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from services.contractors import registry, store
from services.contractors.settings import ContractorsSettings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.contractors.registry",
        description="Import contractors and permits (CSV or JSON) into the contractors registry.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser("import", help="import a CSV or JSON file (all or nothing)")
    importing.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    settings = ContractorsSettings()

    async def run() -> int:
        try:
            parsed = registry.parse(args.file.read_bytes(), registry.kind_of(args.file))
        except registry.BadFile as error:
            print(f"{args.file}: {error.detail}", file=sys.stderr)
            return 2
        if parsed.errors:
            for item in parsed.errors:
                print(f"{args.file}:{item.line}: {item.field}: {item.message}", file=sys.stderr)
            print(f"{len(parsed.errors)} error(s): nothing imported", file=sys.stderr)
            return 1
        async with store.connected(
            settings.mongo_url, settings.database_name, "contractors-registry"
        ) as contractors:
            report = await contractors.import_registry(parsed)
        print(json.dumps(report.as_dict()))
        return 0

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
