"""`mealaid elders ...`: the elder list a district already keeps, brought in from the command
line (the same use case as the admin's upload page)."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from core import i18n
from core.clock import SystemClock
from core.errors import DomainError
from core.i18n import N_
from core.settings import get_settings

if TYPE_CHECKING:
    from usecases.elder_import import ImportResult

elders_app = typer.Typer(help="The elders registry.", no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 120)

PROBLEMS_HEADER = N_("Problems found: {num}")
NOTHING_WRITTEN = N_(
    "Nothing was imported. Correct the file and import it again, or import only the clean "
    "rows with --only-clean."
)
NOTHING_CLEAN = N_("Nothing was imported: no row is free of problems.")
CHECKED = N_("Checked {rows} rows: {clean} clean, {bad} with problems. Nothing was written.")
IMPORTED = N_(
    "Rows read: {rows}. New elders: {created}, updated: {updated}, unchanged: {unchanged}, "
    "rows with problems left out: {skipped}."
)
NO_FILE = N_("There is no file at {path}.")


def _print_problems(result: "ImportResult", locale: str) -> None:
    if not result.problems:
        return
    console.print(i18n.render(PROBLEMS_HEADER, locale, {"num": len(result.problems)}))
    table = Table(show_lines=False)
    table.add_column(i18n.gettext(N_("Row"), locale), justify="right")
    table.add_column(i18n.gettext(N_("Column"), locale))
    table.add_column(i18n.gettext(N_("Problem"), locale), overflow="fold")
    for problem in result.problems:
        table.add_row(str(problem.row or ""), problem.column, problem.render(locale))
    console.print(table)


@elders_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The elder list: .xlsx or .csv.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and list its problems; write nothing.")
    ] = False,
    only_clean: Annotated[
        bool,
        typer.Option("--only-clean", help="Import the rows without problems, leave the others."),
    ] = False,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Import elders from the civil-affairs list (Chinese or English headers); the same file
    again updates them. Exits 1 when the file has problems and nothing was written."""
    settings = get_settings()
    locale = i18n.negotiate(lang)
    if not file.is_file():
        console.print(i18n.render(NO_FILE, locale, {"path": str(file)}))
        raise typer.Exit(2)
    # Imported here, not with the module: the other `mealaid` commands start without them.
    from core.db import Database
    from usecases.elder_import import check_elder_file, import_elders, import_locator

    content = file.read_bytes()
    clock = SystemClock(settings.tz)
    database = Database.from_url(settings.database_url)
    database.migrate()
    if dry_run:
        with database.reading() as session:
            result = check_elder_file(
                session=session, clock=clock, content=content, filename=file.name
            )
        _print_problems(result, locale)
        values = {"rows": result.rows, "clean": result.clean_rows, "bad": result.rows_with_problems}
        console.print(i18n.render(CHECKED, locale, values))
        raise typer.Exit(1 if result.problems else 0)
    try:
        with database.transaction() as session:
            result = import_elders(
                session=session,
                clock=clock,
                actor="cli",
                content=content,
                filename=file.name,
                only_clean=only_clean,
                locator=import_locator(settings),
            )
    except DomainError as refusal:
        console.print(refusal.render(locale))
        raise typer.Exit(1) from None
    _print_problems(result, locale)
    if not result.written:
        console.print(i18n.gettext(NOTHING_CLEAN if only_clean else NOTHING_WRITTEN, locale))
        raise typer.Exit(1)
    values = {
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
    }
    console.print(i18n.render(IMPORTED, locale, values))
