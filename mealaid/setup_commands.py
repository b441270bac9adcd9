"""`mealaid setup ...` and the staff account commands besides `user add`: a programme's set-up
as one file (the same use case as the set-up page's download and upload), and disabling,
enabling and resetting an account (the same use cases as the staff accounts page)."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from core import i18n
from core.clock import SystemClock
from core.errors import DomainError
from core.i18n import N_
from core.settings import get_settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from core.db import Database
    from usecases import accounts

# The use cases and the database are imported by the commands that use them, when they run:
# `mealaid` starts as a process of its own for each command (see mealaid.cli).

setup_app = typer.Typer(help="A programme's set-up as one file.", no_args_is_help=True)
console = Console(width=None if sys.stdout.isatty() else 120)
ACTOR = "cli"

EXPORTED = N_("The set-up is in {path}: {summary}.")
IMPORTED = N_("Imported {path}: {added} entries added, {kept} already here and kept as they were.")
NO_FILE = N_("There is no file at {path}.")
NO_ACCOUNT = N_("There is no account “{username}”.")
ENABLED = N_("Account {username} enabled.")
DISABLED = N_("Account {username} disabled: it cannot log in, and its sessions have ended.")


def _locale(lang: str | None) -> str:
    return i18n.negotiate(lang, get_settings().default_locale)


def _database() -> "Database":
    from core.db import Database

    database = Database.from_url(get_settings().database_url)
    database.migrate()
    return database


def _refused(refusal: DomainError, locale: str) -> typer.Exit:
    console.print(refusal.render(locale))
    return typer.Exit(2)


@setup_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="The file to write.")] = Path("mealaid-setup.json"),
    with_elders: Annotated[
        bool,
        typer.Option(
            "--with-elders",
            help="Include the elders' records and standing orders (personal data; no ID numbers).",
        ),
    ] = False,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Write the programme's set-up (communities, sites and meals, riders, community workers,
    dishes with their recipes, menus from today on, funders, funds, rules; the elders and their
    standing orders only with --with-elders) to one JSON file."""
    from usecases import programme

    locale = _locale(lang)
    database = _database()
    clock = SystemClock(get_settings().tz)
    with database.transaction() as session:
        document = programme.export_setup(
            session=session, clock=clock, actor=ACTOR, with_elders=with_elders
        )
    out.write_bytes(programme.dumped(document))
    sections = (*programme.SECTIONS, "elders")
    summary = ", ".join(f"{s} {len(document[s])}" for s in sections if document.get(s))
    console.print(i18n.render(EXPORTED, locale, {"path": str(out), "summary": summary or "0"}))


@setup_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A set-up file another programme exported.")],
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Add another programme's set-up to this one: what this programme has is kept, the rest
    added; a bad entry is named and nothing is written."""
    from usecases import programme

    locale = _locale(lang)
    if not file.is_file():
        console.print(i18n.render(NO_FILE, locale, {"path": str(file)}))
        raise typer.Exit(2)
    database = _database()
    settings = get_settings()
    clock = SystemClock(settings.tz)
    try:
        document = programme.read_setup_file(file.read_bytes())
        with database.transaction() as session:
            imported = programme.import_setup(
                session=session, clock=clock, settings=settings, actor=ACTOR, document=document
            )
    except DomainError as refusal:
        raise _refused(refusal, locale) from None
    console.print(
        i18n.render(
            IMPORTED,
            locale,
            {
                "path": str(file),
                "added": sum(imported.added.values()),
                "kept": sum(imported.kept.values()),
            },
        )
    )


def _account_id(session: "Session", username: str, locale: str) -> int:
    from sqlmodel import select

    from core.accounts import StaffAccount

    account = session.exec(
        select(StaffAccount).where(StaffAccount.username == username.strip().lower())
    ).first()
    if account is None or account.id is None:
        console.print(i18n.render(NO_ACCOUNT, locale, {"username": username}))
        raise typer.Exit(2)
    return account.id


def set_active(username: str, active: bool, lang: str | None) -> None:
    """Disable or enable an account (`mealaid user disable` / `enable`)."""
    from usecases import accounts

    locale = _locale(lang)
    database = _database()
    clock = SystemClock(get_settings().tz)
    try:
        with database.transaction() as session:
            accounts.set_account_active(
                session=session,
                clock=clock,
                actor=ACTOR,
                account_id=_account_id(session, username, locale),
                active=active,
                own_id=0,
            )
    except DomainError as refusal:
        raise _refused(refusal, locale) from None
    done = ENABLED if active else DISABLED
    console.print(i18n.render(done, locale, {"username": username}))


def reset_password(username: str, password: str | None, lang: str | None) -> None:
    """Give an account a new password and end its sessions (`mealaid user reset-password`)."""
    from usecases import accounts

    locale = _locale(lang)
    database = _database()
    clock = SystemClock(get_settings().tz)
    try:
        with database.transaction() as session:
            reset = accounts.reset_password(
                session=session,
                clock=clock,
                actor=ACTOR,
                account_id=_account_id(session, username, locale),
                new_password=password,
            )
    except DomainError as refusal:
        raise _refused(refusal, locale) from None
    if password:
        console.print(i18n.render(N_("New password set for {username}."), locale, _named(reset)))
    else:
        console.print(
            i18n.render(
                N_("The new password of {username} is {password} (shown this once)."),
                locale,
                {**_named(reset), "password": reset.password},
            )
        )


def _named(reset: "accounts.PasswordReset") -> dict[str, str]:
    return {"username": reset.account.username}
