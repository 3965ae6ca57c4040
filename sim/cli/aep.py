"""``sim aep validate FILE.json ...``: Flow Service request bodies checked as the platform does.

All files are created together in one sandbox (the seed's pre-existing objects included: see
:mod:`sim.domain.aep.api`), in dependency order. Exit 0 printing one line per created object
(``POST /flows -> 8256cfb4-…  (name)``), with notes for what was accepted but worth saying (a
number written as a string, a flow without a delta column) on stderr; exit 2 printing one line per
problem on stderr (file, object, field, what is wrong), never a traceback.

"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group("aep")
def aep() -> None:
    """Adobe Experience Platform dataflows: validate Flow Service bodies."""


@aep.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="refuse numbers written as strings (\"interval\": \"30\") instead of "
                                             "reading them as integers")
@click.option("--quiet", "-q", is_flag=True, help="no notes")
def validate_cmd(files: tuple[Path, ...], strict: bool, quiet: bool) -> None:
    """Create the bodies of FILES (one body, a list, or an object keyed by endpoint) in a sandbox."""
    from sim.domain.aep.api import validate_bodies

    result = validate_bodies(files, strict=strict)
    if not quiet:
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
    if result.problems:
        for line in result.problems:
            click.echo(line, err=True)
        click.echo(f"{len(result.problems)} problem(s); {len(result.created)} object(s) would be created", err=True)
        sys.exit(2)
    for created in result.created:
        click.echo(str(created))

