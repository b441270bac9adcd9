"""The `mealaid` command: serve the web app, run the demo city, migrate, close slots at cutoff.

Every command is its own process, and most of them start, do one thing and end (an operator's,
a test's, a service manager's): each imports what it needs when it runs, not what the others
need (the database's migrations, the ORM's tables, the route search, the spreadsheet reader,
the web app). Kept at the top: what `mealaid --help` and every command's options are made of."""

import atexit
import contextlib
import gc
import random
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from core import i18n
from core.clock import AcceleratedClock, Clock, FixedClock, SystemClock
from core.diet import special_texture
from core.errors import DomainError, NotAKitchen, SiteCodeUnknown, SlotStillOpen
from core.i18n import N_
from core.settings import get_settings
from core.types import LABELS, Category, ServiceMode, SiteKind, Slot
from mealaid import collector, setup_commands
from mealaid.elder_commands import elders_app

if TYPE_CHECKING:
    from core.db import Database
    from core.models import Site
    from mealaid.duework import DueWorkReport
    from usecases.routing import SolveParams

# Who the audit log names for what an operator did from the command line.
CLI_ACTOR = "cli"

# A command ends with its process, and the interpreter's last collections would walk every
# object the process made (the modules, the ORM's tables, the migrations: a third of a second
# of CPU for `mealaid cutoff`), which the system takes back at once anyway. Frozen, they are
# left out (the exit handlers all run as before).
atexit.register(gc.freeze)

app = typer.Typer(
    help="MealAid: community meal assistance for older people.",
    no_args_is_help=True,
    add_completion=False,
)
# Wide enough for the summary tables when the output is a file or a CI log.
console = Console(width=None if sys.stdout.isatty() else 120)


def _locale(lang: str | None) -> str:
    return i18n.negotiate(lang, get_settings().default_locale)


@app.callback()
def _settings_fit_to_run() -> None:
    """Before any command: a production programme with no secret or a weak one stops here."""
    _refuse_unsafe_secret(None)
    collector.settle()


def _refuse_unsafe_secret(host: str | None) -> None:
    refusal = get_settings().secret_refusal(host)
    if refusal is not None:
        message, values = refusal
        console.print(i18n.render(message, _locale(None), values), markup=False)
        raise typer.Exit(2)


def _database(migrate: bool = True) -> "Database":
    """The configured database, its schema brought up to date (a no-op when it is)."""
    from core.db import Database

    database = Database.from_url(get_settings().database_url)
    if migrate:
        database.migrate()
    return database


def _shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _parse_day(value: str | None, locale: str) -> date:
    if value is None:
        return SystemClock(get_settings().tz).now().date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        console.print(
            i18n.render(N_("“{value}” is not a date like 2026-11-25."), locale, {"value": value})
        )
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    database = _database()
    database.migrate()
    console.print(
        i18n.render(
            N_("Database {url} is up to date."),
            _locale(None),
            {"url": _shown_url(get_settings().database_url)},
        )
    )


# A job waiting longer than this means the workers cannot keep up (or none is running).
WAITING_TOO_LONG_SECONDS = 300


@app.command()
def health(lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None) -> None:
    """Check a running programme: the database answers, its schema is up to date, and on
    PostgreSQL workers are alive and keeping up. Exits 1 when something needs a person."""
    from core import queue_schema
    from core.db import schema_revisions

    settings = get_settings()
    locale = _locale(lang)
    problems: list[str] = []
    database = _database(migrate=False)
    try:
        current, newest = schema_revisions(database.engine)
    except sa.exc.OperationalError:
        console.print(
            i18n.render(
                N_("The database {url} does not answer."),
                locale,
                {"url": _shown_url(settings.database_url)},
            )
        )
        raise typer.Exit(1) from None
    console.print(
        i18n.render(
            N_("Database {url}: schema {current} (newest {newest})."),
            locale,
            {"url": _shown_url(settings.database_url), "current": current, "newest": newest},
        )
    )
    if current != newest:
        problems.append(N_("The schema is not up to date: run “mealaid migrate”."))
    elif database.dialect == "postgresql":
        with database.engine.connect() as connection:
            # Alive: not yet given up on (after that its job is taken up by another worker).
            queue = queue_schema.health(connection, settings.worker_stalled_seconds)
        console.print(
            i18n.render(
                N_(
                    "Workers alive: {alive}. Jobs waiting: {waiting} (oldest {oldest} s), "
                    "running: {running}, failed: {failed}."
                ),
                locale,
                {
                    "alive": queue.workers_alive,
                    "waiting": queue.waiting,
                    "oldest": round(queue.oldest_waiting_seconds or 0),
                    "running": queue.running,
                    "failed": queue.failed,
                },
            )
        )
        if queue.workers_alive == 0:
            problems.append(N_("No worker is running: start “mealaid worker”."))
        elif (queue.oldest_waiting_seconds or 0) > WAITING_TOO_LONG_SECONDS:
            problems.append(N_("Jobs wait for more than 5 minutes: start more workers."))
    database.dispose()
    for problem in problems:
        console.print(i18n.gettext(problem, locale))
    if problems:
        raise typer.Exit(1)
    console.print(i18n.gettext(N_("Healthy."), locale))


user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(setup_commands.setup_app, name="setup")
app.add_typer(elders_app, name="elders")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Option(help="Login name: lower-case letters, digits, . _ -")],
    role: Annotated[
        str,
        typer.Option(help="admin, community_worker, kitchen, rider, funder_auditor or canteen."),
    ],
    password: Annotated[
        str | None, typer.Option(help="The password (asked for when not given).")
    ] = None,
    name: Annotated[str, typer.Option(help="The name shown on the pages.")] = "",
    rider_id: Annotated[int | None, typer.Option(help="For a rider: their rider record.")] = None,
    funder_id: Annotated[int | None, typer.Option(help="For a funder auditor: the funder.")] = None,
    kitchen_id: Annotated[int | None, typer.Option(help="For kitchen staff: the kitchen.")] = None,
    community_id: Annotated[
        list[int] | None, typer.Option(help="For a community worker: a community (repeatable).")
    ] = None,
    site_id: Annotated[
        list[int] | None, typer.Option(help="For canteen staff: a site they serve at (repeatable).")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Create a staff account with its role and the rider, funder, kitchen, communities or
    sites it is linked to."""
    from usecases.accounts import create_account

    locale = _locale(lang)
    if password is None:
        password = typer.prompt(
            i18n.gettext(N_("Password"), locale), hide_input=True, confirmation_prompt=True
        )
    database = _database()
    try:
        with database.transaction() as session:
            account = create_account(
                session=session,
                clock=SystemClock(get_settings().tz),
                actor=CLI_ACTOR,
                account_in={
                    "username": username,
                    "password": password,
                    "role": role,
                    "display_name": name,
                    "rider_id": rider_id,
                    "funder_id": funder_id,
                    "kitchen_id": kitchen_id,
                    "community_ids": community_id or [],
                    "site_ids": site_id or [],
                },
            )
    except DomainError as refusal:
        console.print(refusal.render(locale))
        if refusal.params.get("field_code") == "role":
            console.print(_role_choices(locale))
        raise typer.Exit(2) from None
    console.print(
        i18n.render(
            N_("Account {username} created: {role}."),
            locale,
            {"username": account.username, "role": account.role},
        )
    )


@user_app.command("disable")
def user_disable(
    username: Annotated[str, typer.Option(help="The account's login name.")],
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Disable an account: it can no longer log in, and its sessions end at once."""
    setup_commands.set_active(username, False, lang)


@user_app.command("enable")
def user_enable(
    username: Annotated[str, typer.Option(help="The account's login name.")],
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Enable a disabled account again."""
    setup_commands.set_active(username, True, lang)


@user_app.command("reset-password")
def user_reset_password(
    username: Annotated[str, typer.Option(help="The account's login name.")],
    password: Annotated[
        str | None, typer.Option(help="The new password (a random one is made when not given).")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Give an account a new password (for someone who forgot theirs) and end its sessions."""
    setup_commands.reset_password(username, password, lang)


def _role_choices(locale: str) -> str:
    """The roles as they are typed, each with what it means: "admin (programme admin), ..."."""
    from api.accounts.models import Role

    opening, closing = ("（", "）") if locale == "zh_CN" else (" (", ")")
    roles = [f"{role.value}{opening}{i18n.display(role, locale)}{closing}" for role in Role]
    separator = "、" if locale == "zh_CN" else ", "
    return i18n.render(N_("The roles: {roles}."), locale, {"roles": separator.join(roles)})


@audit_app.command("check")
def audit_check(
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            help="The folder of the log's checkpoints (default: MEALAID_AUDIT_CHECKPOINT_DIR)."
        ),
    ] = None,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Verify the audit log: its chain of keyed hashes, and its checkpoints (kept outside the
    database); exit 1 and say what is wrong if it was tampered with."""
    from core import audit

    locale = _locale(lang)
    folder = checkpoints if checkpoints is not None else get_settings().audit_checkpoint_dir
    with _database().reading() as session:
        report = audit.verify_chain(session=session, checkpoints=audit.read_checkpoints(folder))
    if report.intact:
        console.print(
            i18n.render(
                N_("The audit log is intact: {entries} entries."),
                locale,
                {"entries": report.entries},
            )
        )
        _print_audit_anchors(report, folder, locale)
        return
    for problem in report.problems:
        console.print(_audit_problem(problem, report, locale))
    raise typer.Exit(1)


def _print_audit_anchors(report, folder: Path, locale: str) -> None:
    latest = report.latest_checkpoint
    if latest is None:
        console.print(
            i18n.render(
                N_(
                    "No checkpoint in {folder}: entries deleted at the end of the log would go "
                    "unnoticed. Write one with “mealaid audit checkpoint”."
                ),
                locale,
                {"folder": str(folder)},
            )
        )
    else:
        console.print(
            i18n.render(
                N_("It agrees with the latest checkpoint, of {at} ({entries} entries)."),
                locale,
                {"at": _audit_moment(latest.at), "entries": latest.entries},
            )
        )
    if report.unkeyed:
        console.print(
            i18n.render(
                N_(
                    "Entries 1 to {last} were written before the log was keyed: each is held in "
                    "place by the keyed entries after it and by the checkpoints."
                ),
                locale,
                {"last": report.unkeyed},
            )
        )


def _audit_moment(at: datetime) -> str:
    return at.astimezone(get_settings().tz).strftime("%Y-%m-%d %H:%M:%S")


def _audit_problem(problem, report, locale: str) -> str:
    """One thing wrong with the audit log, as the reader reads it."""
    reasons = {
        "altered": N_("its contents do not match its hash"),
        "wrong_link": N_("it does not carry the hash of the entry before it"),
        "downgraded": N_(
            "it passes for an entry written before the log was keyed, after keyed entries"
        ),
    }
    if problem.reason in reasons:
        return i18n.render(
            N_("The audit log has been tampered with at entry {seq}: {reason}."),
            locale,
            {"seq": problem.seq, "reason": i18n.gettext(reasons[problem.reason], locale)},
        )
    if problem.reason == "missing_entry":
        return i18n.ngettext(
            "The audit log has been tampered with at entry {seq}: {missing} entry before it is "
            "missing.",
            "The audit log has been tampered with at entry {seq}: {missing} entries before it "
            "are missing.",
            problem.missing,
            locale,
        ).format(seq=problem.seq, missing=problem.missing)
    if problem.reason == "missing_at_end":
        return i18n.ngettext(
            "{missing} entry is missing at the end of the audit log: the checkpoint of {at} "
            "counted {expected}, the log now ends at entry {last}.",
            "{missing} entries are missing at the end of the audit log: the checkpoint of {at} "
            "counted {expected}, the log now ends at entry {last}.",
            problem.missing,
            locale,
        ).format(
            missing=problem.missing,
            at=_audit_moment(problem.checkpoint_at),
            expected=problem.seq,
            last=problem.seq - problem.missing,
        )
    if problem.reason == "differs_from_checkpoint":
        return i18n.render(
            N_(
                "Entry {seq} of the audit log is not the one the checkpoint of {at} recorded: "
                "the log was rewritten up to there, or cut back and written again."
            ),
            locale,
            {"seq": problem.seq, "at": _audit_moment(problem.checkpoint_at)},
        )
    if problem.reason == "other_key":
        return i18n.render(
            N_(
                "The checkpoint at {where} was signed with another audit key: check "
                "MEALAID_AUDIT_KEY (and MEALAID_SECRET_KEY, from which it is derived when unset)."
            ),
            locale,
            {"where": problem.where},
        )
    return i18n.render(
        N_("The checkpoint at {where} has been edited: its signature does not match."),
        locale,
        {"where": problem.where},
    )


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[
        Path | None,
        typer.Option(help="The folder (default: MEALAID_AUDIT_CHECKPOINT_DIR)."),
    ] = None,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Write a signed checkpoint of the audit log (how many entries, the last one's hash) to a
    file outside the database, so entries deleted later at the end are found by the check."""
    from core import audit

    locale = _locale(lang)
    folder = out if out is not None else get_settings().audit_checkpoint_dir
    clock = SystemClock(get_settings().tz)
    with _database().reading() as session:
        checkpoint = audit.take_checkpoint(session=session, clock=clock)
    try:
        path = audit.write_checkpoint(checkpoint, folder)
    except OSError as error:
        console.print(
            i18n.render(
                N_("The checkpoint could not be written to {folder}: {error}"),
                locale,
                {"folder": str(folder), "error": error.strerror or str(error)},
            )
        )
        raise typer.Exit(1) from None
    console.print(
        i18n.render(
            N_("Checkpoint of the audit log written to {path}: {entries} entries."),
            locale,
            {"path": str(path), "entries": checkpoint.entries},
        )
    )


# `serve` and `worker` can run the programme's clock from a chosen moment, faster (a demo).
ClockStart = Annotated[
    str | None,
    typer.Option(
        "--clock",
        help="Demo only: start the programme's clock at this moment (YYYY-MM-DDTHH:MM).",
    ),
]
ClockSpeed = Annotated[
    float, typer.Option(help="Demo only: with --clock, how many times faster time runs.")
]


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Web processes to serve from (more than one needs PostgreSQL).",
        ),
    ] = 1,
    scheduler: Annotated[
        bool | None,
        typer.Option(
            "--scheduler/--no-scheduler",
            help="Run the day's due work (cutoffs, planning, escalation, reminders, month end, "
            "backups) in this process. Default: yes on SQLite; on PostgreSQL no, since "
            "“mealaid worker” runs it.",
            show_default=False,
        ),
    ] = None,
    clock_start: ClockStart = None,
    speed: ClockSpeed = 1.0,
) -> None:
    """Run the staff web app and JSON API (and the bot by webhook when its secret is set). On
    SQLite it also runs the day's due work: each meal closes at its cutoff, each kitchen is
    planned right after, welfare alerts escalate on time, nobody has to type a command."""
    settings = get_settings()
    locale = _locale(None)
    _refuse_unsafe_secret(host)
    clock = _serve_clock(clock_start, speed, locale)
    database = _database()
    on_postgres = database.dialect == "postgresql"
    if workers > 1 and not on_postgres:
        console.print(
            i18n.gettext(
                N_("Several web processes need PostgreSQL; on SQLite, serve from one."), locale
            )
        )
        raise typer.Exit(2)
    if workers > 1 and clock_start is not None:
        console.print(i18n.gettext(N_("--clock is for a demo served from one process."), locale))
        raise typer.Exit(2)
    # The web app is imported once nothing stands in the way of serving it, and only by the
    # process that serves it: with several, each of them makes its own (mealaid.web:app).
    import uvicorn

    from api.logs import server_log_config

    if workers == 1:
        from mealaid.web import served_app

    if scheduler is None:
        scheduler = not on_postgres
    loop = None
    if scheduler:
        from mealaid.duework import DueWorkLoop

        loop = DueWorkLoop(
            database,
            clock,
            settings,
            interval=settings.due_work_interval_seconds,
            on_report=lambda report: _print_due_work(report, locale),
        )
        loop.start()
    else:
        console.print(
            i18n.gettext(
                N_("The day's due work runs on “mealaid worker”: keep at least one running."),
                locale,
            )
        )
    collector.settle_for_serving()
    log_config = server_log_config()
    # Only the configured proxies may say who the client is (the login limit counts by it).
    proxies = {
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies or None,
    }
    try:
        if workers > 1:
            uvicorn.run(
                "mealaid.web:app",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level="info",
                log_config=log_config,
                **proxies,
            )
        else:
            uvicorn.run(
                served_app(database, clock, settings),
                host=host,
                port=port,
                log_level="info",
                log_config=log_config,
                **proxies,
            )
    finally:
        if loop is not None:
            loop.stop(timeout=30)


@app.command()
def worker(
    name: Annotated[
        str | None, typer.Option(help="The worker's name in logs (default: host and process).")
    ] = None,
    clock_start: ClockStart = None,
    speed: ClockSpeed = 1.0,
) -> None:
    """Run a worker of the day's due work on PostgreSQL: cutoffs, each kitchen's planning,
    welfare escalation, reminders, month end. Start any number, on any number of machines;
    each kitchen's planning is a job of its own. Ctrl+C or SIGTERM stops it after its job."""
    import asyncio
    import os
    import socket

    settings = get_settings()
    locale = _locale(None)
    database = _database()
    if database.dialect != "postgresql":
        console.print(
            i18n.gettext(
                N_(
                    "Workers need PostgreSQL (set MEALAID_DATABASE_URL). On SQLite, "
                    "“mealaid serve” runs the day's due work itself."
                ),
                locale,
            )
        )
        raise typer.Exit(2)
    from mealaid import queue

    name = name or f"{socket.gethostname()}-{os.getpid()}"

    def on_outage(error: Exception, seconds: float) -> None:
        console.print(
            i18n.render(
                N_("The database cannot be reached ({error}); trying again in {seconds} s."),
                locale,
                {"error": type(error).__name__, "seconds": int(seconds)},
            )
        )

    runtime = queue.Runtime(
        database=database,
        clock=_serve_clock(clock_start, speed, locale),
        settings=settings,
        on_report=lambda report: _print_due_work(report, locale),
        on_outage=on_outage,
    )
    console.print(
        i18n.render(
            N_("Worker {name} started on {database}."),
            locale,
            {"name": name, "database": _shown_url(settings.database_url)},
        )
    )
    queue.configure_logging()
    collector.settle_for_serving()
    asyncio.run(queue.run_worker(runtime, settings.database_url, name))
    console.print(i18n.render(N_("Worker {name} stopped."), locale, {"name": name}))


def _serve_clock(start: str | None, speed: float, locale: str) -> Clock:
    settings = get_settings()
    if start is None:
        return SystemClock(settings.tz)
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        console.print(
            i18n.render(
                N_("“{value}” is not a moment like 2026-11-25T09:00."), locale, {"value": start}
            )
        )
        raise typer.Exit(2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.tz)
    if not speed > 0:
        console.print(
            i18n.gettext(
                N_("--speed must be more than 0 (1 is real time, 60 a minute a second)."), locale
            )
        )
        raise typer.Exit(2)
    return AcceleratedClock(moment, speed)


def _print_due_work(report: "DueWorkReport", locale: str) -> None:
    """One line per thing the clock did, as it happens (nothing when nothing was due)."""
    for result in report.closed:
        console.print(
            i18n.render(
                N_("{site}: {slot} of {date} closed, {locked} orders locked."),
                locale,
                {
                    "slot": result.slot,
                    "date": result.service_date,
                    "site": report.site_names.get(result.site_id, result.site_id),
                    "locked": result.orders_locked,
                },
            )
        )
    for summary in report.planned:
        _print_plan(summary, locale)
    if report.escalated:
        console.print(
            i18n.render(
                N_("Welfare alerts escalated: {count}"), locale, {"count": report.escalated}
            )
        )
    if report.month_checked:
        console.print(
            i18n.render(
                N_("Checked {month}: meals held for review are on the settlement page."),
                locale,
                {"month": report.month_checked},
            )
        )
    if report.backup is not None:
        console.print(i18n.render(N_("Backed up to {path}"), locale, {"path": str(report.backup)}))


@app.command()
def bot(
    sandbox: Annotated[
        bool,
        typer.Option(
            help="Run offline: a local Telegram stand-in with a chat page in the browser."
        ),
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the sandbox's chat page.")] = 8081,
    host: Annotated[str, typer.Option(help="Address of the sandbox.")] = "127.0.0.1",
) -> None:
    """Run the Telegram bot: against Telegram with MEALAID_BOT_TOKEN, or offline with --sandbox."""
    import asyncio

    from bot.app import Services, build_application
    from bot.sandbox import Sandbox

    settings = get_settings()
    locale = _locale(None)
    if sandbox and settings.environment == "production":
        # On the sandbox's chat page anyone may say they are any phone number, and be welcomed
        # as that elder: never beside a programme's real data.
        console.print(
            i18n.gettext(
                N_(
                    "The sandbox is for trying the bot offline: it does not run when "
                    "MEALAID_ENVIRONMENT=production."
                ),
                locale,
            )
        )
        raise typer.Exit(2)
    services = Services(_database(), SystemClock(settings.tz), settings)
    if sandbox:
        runner = Sandbox(services, host=host, port=port)
        console.print(
            i18n.render(
                N_("Chat with the bot at {url}/sandbox/ (Ctrl+C stops it)."),
                locale,
                {"url": runner.url},
            )
        )
        collector.settle_for_serving()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(runner.serve_forever())
        return
    if not settings.bot_token:
        console.print(
            i18n.gettext(
                N_("Set MEALAID_BOT_TOKEN to the token from @BotFather, or use --sandbox."), locale
            )
        )
        raise typer.Exit(2)
    application = build_application(
        services=services, token=settings.bot_token, base_url=settings.bot_api_base_url
    )
    collector.settle_for_serving()
    application.run_polling(allowed_updates=["message", "callback_query"])


@app.command("link-code")
def link_code(
    elder: Annotated[
        int | None, typer.Option(help="The elder's id: a family member's code.")
    ] = None,
    rider: Annotated[int | None, typer.Option(help="A rider's id: the rider's own chat.")] = None,
    worker: Annotated[
        int | None, typer.Option(help="A community worker's id: the worker's own chat.")
    ] = None,
    issued_by: Annotated[str, typer.Option(help="Who hands the code over.")] = "staff",
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Issue a one-time code (valid 72 hours) that links a chat: a family member's to an elder
    (--elder), or a rider's or a community worker's own (--rider, --worker)."""
    from usecases.chat_links import issue_staff_code
    from usecases.elders import issue_link_code

    settings = get_settings()
    locale = _locale(lang)
    chosen = [
        (kind, ident)
        for kind, ident in (("elder", elder), ("rider", rider), ("worker", worker))
        if ident is not None
    ]
    if len(chosen) != 1:
        console.print(i18n.gettext(N_("Name one person: --elder, --rider or --worker."), locale))
        raise typer.Exit(2)
    [(kind, ident)] = chosen
    clock, actor = SystemClock(settings.tz), f"cli:{issued_by}"
    try:
        with _database().transaction() as session:
            if kind == "elder":
                code, _ = issue_link_code(session=session, clock=clock, actor=actor, elder_id=ident)
            else:
                code, _ = issue_staff_code(
                    session=session,
                    clock=clock,
                    actor=actor,
                    kind="rider" if kind == "rider" else "worker",
                    person_id=ident,
                )
    except DomainError as error:
        console.print(error.render(locale))
        raise typer.Exit(1) from None
    message = (
        N_("Family code: {code} (one use, valid for 72 hours; type it in the bot).")
        if kind == "elder"
        else N_("Chat code: {code} (one use, valid for 72 hours; type it in the bot).")
    )
    console.print(i18n.render(message, locale, {"code": code}))


def _slot(value: str | None, locale: str) -> Slot | None:
    """A meal named on the command line, refused in the reader's language when it is none."""
    if value is None:
        return None
    try:
        return Slot(value)
    except ValueError:
        console.print(
            i18n.render(
                N_("“{value}” is not a meal. Meals: {known}."),
                locale,
                {"value": value, "known": ", ".join(slot.value for slot in Slot)},
            )
        )
        raise typer.Exit(2) from None


def _sites(session, code: str | None, locale: str, *, kitchens: bool = False) -> list["Site"]:
    """Every site (or every central kitchen), or the one with this code; an unknown code, or a
    canteen where a kitchen is needed, is refused and nothing is done."""
    from core.models import Site

    every = list(session.exec(sa.select(Site).order_by(Site.id)).scalars())
    wanted = [s for s in every if not kitchens or s.kind == SiteKind.central_kitchen]
    if code is None:
        return wanted
    chosen = [s for s in every if s.code == code]
    error: DomainError | None = None
    if not chosen:
        error = SiteCodeUnknown(code=code, known=", ".join(s.code for s in wanted))
    elif kitchens and chosen[0].kind != SiteKind.central_kitchen:
        error = NotAKitchen(site=chosen[0].name)
    if error is not None:
        console.print(error.render(locale))
        raise typer.Exit(2)
    return chosen


SLOT_HELP = "The meal: breakfast, lunch or dinner."


@app.command()
def backup(
    out: Annotated[
        Path | None, typer.Option(help="Folder for the copy (default MEALAID_BACKUP_DIR).")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Copy the embedded (SQLite) database now, consistently while it is in use. `mealaid
    serve` does this every night by itself; PostgreSQL is backed up with pg_dump (README)."""
    from mealaid.duework import backup_sqlite

    locale = _locale(lang)
    settings = get_settings()
    database = _database()
    if database.dialect != "sqlite":
        console.print(i18n.gettext(N_("On PostgreSQL, back up with pg_dump (see README)."), locale))
        raise typer.Exit(2)
    path = backup_sqlite(
        database, out or settings.backup_dir, SystemClock(settings.tz).now().date()
    )
    console.print(i18n.render(N_("Backed up to {path}"), locale, {"path": str(path)}))


@app.command()
def restore(
    source: Annotated[Path, typer.Option("--from", help="A backup file made by MealAid.")],
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Replace the embedded (SQLite) database with a backup. Stop `mealaid serve` first."""
    import sqlite3

    from core.db import Database

    locale = _locale(lang)
    database = Database.from_url(get_settings().database_url)
    if database.dialect != "sqlite":
        console.print(
            i18n.gettext(N_("On PostgreSQL, restore with pg_restore (see README)."), locale)
        )
        raise typer.Exit(2)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup:
            backup.execute("SELECT version_num FROM alembic_version").fetchone()
            if backup.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
            database.dispose()
            with contextlib.closing(sqlite3.connect(database.engine.url.database)) as target:
                backup.backup(target)
    except sqlite3.Error:
        console.print(
            i18n.render(
                N_("{path} is not a MealAid backup; nothing was changed."),
                locale,
                {"path": str(source)},
            )
        )
        raise typer.Exit(1) from None
    _database().dispose()  # a backup from an older version gets the newer schema
    console.print(i18n.render(N_("Restored from {path}"), locale, {"path": str(source)}))


@app.command()
def cutoff(
    day: Annotated[str | None, typer.Option("--date", help="Service day, YYYY-MM-DD.")] = None,
    slot: Annotated[str | None, typer.Option(help="Only this meal.")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site (its code).")] = None,
    early: Annotated[bool, typer.Option(help="Close before the cutoff time.")] = False,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Close every slot whose cutoff has come: standing orders become orders (with their budget
    reserved), orders lock for the kitchen. The scheduler does this by itself at each cutoff."""
    from core.models import MealSlot
    from usecases import ordering

    locale = _locale(lang)
    settings = get_settings()
    service_date = _parse_day(day, locale)
    only_slot = _slot(slot, locale)
    clock = SystemClock(settings.tz)
    database = _database()
    with database.transaction() as session:
        names = {s.id: s.name for s in _sites(session, None, locale)}
        chosen = {s.id for s in _sites(session, site, locale)}
        if early:
            pairs = [(m.site_id, Slot(m.slot)) for m in session.exec(sa.select(MealSlot)).scalars()]
        else:
            pairs = ordering.due_cutoffs(session=session, clock=clock, service_date=service_date)
        pairs = [
            (s, sl) for s, sl in pairs if (only_slot is None or sl == only_slot) and s in chosen
        ]
        try:
            results = [
                ordering.run_cutoff(
                    session=session,
                    clock=clock,
                    settings=settings,
                    site_id=s,
                    service_date=service_date,
                    slot=sl,
                    early=early,
                )
                for s, sl in pairs
            ]
        except DomainError as refusal:
            console.print(refusal.render(locale))
            raise typer.Exit(1) from None
    if not results:
        console.print(
            i18n.render(N_("No slot is due to close on {date}."), locale, {"date": service_date})
        )
    for result in results:
        console.print(
            i18n.render(
                N_("{site} {slot}: {locked} orders locked ({standing} from standing orders)."),
                locale,
                {
                    "site": names[result.site_id],
                    "slot": result.slot,
                    "locked": result.orders_locked,
                    "standing": result.standing_orders_placed,
                },
            )
        )
        if result.standing_orders_skipped:
            console.print(
                i18n.render(
                    N_(
                        "{count} standing orders were refused by the order rules and made no "
                        "order; the elders' chats were told why, and staff see them on the "
                        "orders board (/orders)."
                    ),
                    locale,
                    {"count": result.standing_orders_skipped},
                )
            )


@app.command()
def plan(
    day: Annotated[str | None, typer.Option("--date", help="Service day, YYYY-MM-DD.")] = None,
    slot: Annotated[str, typer.Option(help=SLOT_HELP)] = Slot.lunch.value,
    site: Annotated[str | None, typer.Option(help="Only this kitchen (its code).")] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Seconds of search per kitchen. Default: a fifth of a second per door "
            "delivery, at least 10 and at most 60 (100 doors 20 s, 200 doors 40 s, 300 or "
            "more a minute), or MEALAID_PLAN_TIME_LIMIT_SECONDS.",
        ),
    ] = None,
    rider_cost_km: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="What each rider sent out costs, in kilometres ridden: the plan takes a "
            "rider fewer when that costs fewer extra kilometres. Default 5 "
            "(MEALAID_PLAN_RIDER_COST_KM); 0 plans for the shortest kilometres alone.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the riders' route sheets (default ./out/kitchen/DATE)."),
    ] = None,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Plan each kitchen's delivery routes for a day and meal from its locked orders, and write
    the riders' printed route sheets. The search runs on every core this command may use
    (MEALAID_PLAN_WORKERS says how many). Refused while the meal is still open for orders (the
    scheduler plans each kitchen by itself right after its cutoff)."""
    locale = _locale(lang)
    service_date = _parse_day(day, locale)
    meal = _slot(slot, locale) or Slot.lunch
    database = _database()
    settings = get_settings()
    from mealaid.duework import plan_workers
    from usecases import routing as routing_runs

    params = routing_runs.SolveParams.for_kitchen(
        time_limit=settings.plan_time_limit_seconds if time_limit is None else time_limit,
        rider_cost_km=settings.plan_rider_cost_km if rider_cost_km is None else rider_cost_km,
        workers=plan_workers(settings, alone=True),
    )
    kitchens = _plan(database, SystemClock(settings.tz), service_date, [meal], site, params, locale)
    _route_sheets(database, kitchens, service_date, meal, out or _day_folder(service_date), locale)


@app.command()
def replan(
    route: Annotated[int, typer.Option(help="The route whose rider dropped out (its id).")],
    time_limit: Annotated[float, typer.Option(help="Seconds of search.")] = 10.0,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the new route sheets (default ./out/kitchen/DATE)."),
    ] = None,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """A rider dropped out: give the doors their route has not reached to the riders still at
    the kitchen, and write the new route sheets."""
    from usecases import routing as routing_runs

    locale = _locale(lang)
    database = _database()
    try:
        with database.transaction() as session:
            summary = routing_runs.replan_after_dropout(
                session=session,
                clock=SystemClock(get_settings().tz),
                route_id=route,
                actor=CLI_ACTOR,
                params=routing_runs.SolveParams(time_limit=time_limit),
            )
    except DomainError as refusal:
        console.print(refusal.render(locale))
        raise typer.Exit(1) from None
    _print_plan(summary, locale)
    folder = out or _day_folder(summary.service_date)
    _route_sheets(
        database, [summary.kitchen_id], summary.service_date, summary.slot, folder, locale
    )


def _day_folder(service_date: date) -> Path:
    """Where a day's kitchen files and route sheets go unless told otherwise."""
    return Path("out") / "kitchen" / service_date.isoformat()


def _route_sheets(
    database, kitchens: list[int], service_date: date, slot: Slot, folder: Path, locale: str
) -> None:
    from kitchen.route_sheets import kitchen_route_sheets

    folder.mkdir(parents=True, exist_ok=True)
    with database.reading() as session:
        for kitchen_id in kitchens:
            path = kitchen_route_sheets(
                session=session,
                kitchen_id=kitchen_id,
                service_date=service_date,
                slot=slot,
                folder=folder,
                locale=locale,
                base_url=get_settings().public_base_url,
                programme_phone=get_settings().programme_phone,
                tz=get_settings().tz,
            )
            console.print(
                i18n.render(
                    N_("Route sheets written to {path}"), locale, {"path": str(path.resolve())}
                )
            )


def _plan(
    database,
    clock,
    service_date: date,
    slots,
    site: str | None,
    params: "SolveParams",
    locale: str,
) -> list[int]:
    """Plan each chosen kitchen's meals, one transaction each; a refusal (the meal is still
    open) is printed and ends the command with nothing of that kitchen's meal changed."""
    from usecases import routing as routing_runs

    with database.reading() as session:
        kitchens = [k.id for k in _sites(session, site, locale, kitchens=True)]
    for kitchen_id in kitchens:
        for slot in slots:
            try:
                with database.transaction() as session:
                    summary = routing_runs.plan_kitchen(
                        session=session,
                        clock=clock,
                        kitchen_id=kitchen_id,
                        service_date=service_date,
                        slot=slot,
                        actor=CLI_ACTOR,
                        params=params,
                    )
            except SlotStillOpen as refusal:
                console.print(refusal.render(locale))
                console.print(
                    i18n.render(
                        N_("To close it now: mealaid cutoff --date {date} --slot {slot} --early"),
                        locale,
                        {"date": service_date.isoformat(), "slot": slot.value},
                    )
                )
                raise typer.Exit(1) from None
            except DomainError as refusal:
                console.print(refusal.render(locale))
                raise typer.Exit(1) from None
            _print_plan(summary, locale)
    return kitchens


def _print_plan(summary, locale: str) -> None:
    reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(summary.unassigned.items()))
    console.print(
        i18n.render(
            N_(
                "{kitchen} {slot}: {stops} stops on {riders} routes, {km} km, last door at "
                "{latest}; not planned: {reasons}"
            ),
            locale,
            {
                "kitchen": summary.kitchen,
                "slot": summary.slot,
                "stops": summary.stops,
                "riders": summary.riders,
                "km": f"{summary.distance_m / 1000:.1f}",
                "latest": summary.latest_arrival or "—",
                "reasons": reasons or "—",
            },
        )
    )
    if summary.approximate_locations:
        console.print(
            i18n.render(
                N_(
                    "  {num} doors are at a community's centre (location approximate): the "
                    "riders go by the address; correct these elders' locations in the registry."
                ),
                locale,
                {"num": summary.approximate_locations},
            )
        )


@app.command()
def kitchen(
    day: Annotated[str | None, typer.Option("--date", help="Service day, YYYY-MM-DD.")] = None,
    slot: Annotated[str, typer.Option(help=SLOT_HELP)] = Slot.lunch.value,
    site: Annotated[str | None, typer.Option(help="Only this kitchen (its code).")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the lists and labels here.")] = None,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Print each central kitchen's production list for a day and meal."""
    from kitchen.exports import destination_label, kitchen_files, variant_name
    from kitchen.service import production_list, purchase_list

    locale = _locale(lang)
    service_date = _parse_day(day, locale)
    meal = _slot(slot, locale) or Slot.lunch
    database = _database()
    t = lambda message: i18n.gettext(message, locale)  # noqa: E731
    with database.reading() as session:
        kitchens = _sites(session, site, locale, kitchens=True)
        for kitchen_site in kitchens:
            production = production_list(
                session=session, kitchen_id=kitchen_site.id, service_date=service_date, slot=meal
            )
            table = Table(
                title=f"{production.kitchen} · {service_date.isoformat()} · "
                f"{i18n.display(meal, locale)}"
                + ("" if production.final else " · " + t(N_("NOT FINAL")))
            )
            for header in (
                N_("Dish"),
                N_("Variant"),
                N_("Destination"),
                N_("Portions"),
                N_("Forecast"),
            ):
                table.add_column(t(header))
            for line in production.lines:
                table.add_row(
                    line.dish.in_locale(locale),
                    variant_name(line.variant, locale),
                    destination_label(line.destination, locale),
                    str(line.portions),
                    str(line.forecast or ""),
                )
            console.print(table)
            for line in purchase_list(production, session=session):
                console.print(f"  {line.ingredient.in_locale(locale)}: {line.amount(locale)}")
            if out is not None:
                files = kitchen_files(
                    session=session,
                    kitchen_id=kitchen_site.id,
                    service_date=service_date,
                    slot=meal,
                    folder=out,
                    locale=locale,
                    base_url=get_settings().public_base_url,
                    programme_phone=get_settings().programme_phone,
                    tz=get_settings().tz,
                )
                console.print(
                    i18n.render(
                        N_("{files} files written to {folder}"),
                        locale,
                        {"files": len(files), "folder": str(out.resolve())},
                    )
                )


@app.command()
def settle(
    month: Annotated[str, typer.Option(help="The month to settle, YYYY-MM.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder for the files (default ./settlement/YYYY-MM).")
    ] = None,
    bill_pdfs: Annotated[bool, typer.Option(help="Also write the elders' bills as PDF.")] = True,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
) -> None:
    """Settle a month: check for anomalies, then write statements, bills, fund reports and
    claims as CSV, XLSX and PDF."""
    locale = _locale(lang)
    database = _database()
    database.migrate()
    try:
        _settle(database, SystemClock(get_settings().tz), month, out, locale, bill_pdfs)
    except DomainError as refusal:
        console.print(refusal.render(locale))
        raise typer.Exit(2) from None


def _settle(database, clock, month: str, out: Path | None, locale: str, bill_pdfs: bool) -> None:
    from billing.exports import settle_files
    from usecases.settlement import check_month, month_range

    first, last = month_range(month)
    folder = out or Path("settlement") / month
    with database.transaction() as session:
        reviews = check_month(session=session, clock=clock, month=month, actor=CLI_ACTOR)
    with database.reading() as session:
        result = settle_files(
            session=session,
            month=month,
            first=first,
            last=last,
            folder=folder,
            locale=locale,
            reviews=reviews,
            bill_pdfs=bill_pdfs,
        )
    console.print(
        i18n.render(
            N_("Settled {month}: {files} files in {folder}"),
            locale,
            {"month": month, "files": len(result.files), "folder": str(folder.resolve())},
        )
    )
    for name, total in result.totals:
        console.print(f"  {name}: {i18n.money(total, locale)}")
    console.print(
        i18n.render(
            N_("Meals held out of the claims for review: {held}"), locale, {"held": result.held}
        )
    )


def _holds_data(database: "Database") -> bool:
    """Anything in the database besides an empty programme's schema (`mealaid migrate`)."""
    from core.models import Site

    tables = sa.inspect(database.engine).get_table_names()
    if "site" not in tables:
        return bool(tables)
    with database.reading() as session:
        return session.execute(sa.select(sa.func.count()).select_from(Site)).scalar_one() > 0


@app.command()
def demo(
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Service day to run, YYYY-MM-DD (default: today in the programme's timezone).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the generated city.")] = 2026,
    serve_after: Annotated[bool, typer.Option("--serve", help="Then start the web app.")] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
    lang: Annotated[str | None, typer.Option(help="zh_CN or en.")] = None,
    plan_seconds: Annotated[
        float | None,
        typer.Option(help="Seconds of route search per kitchen and meal (default 3)."),
    ] = None,
    elders: Annotated[
        int | None,
        typer.Option(
            help="Elders the city registers (default 640); fewer make a smaller city, faster."
        ),
    ] = None,
) -> None:
    """Build the demo city afresh and run one whole day of the programme."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.db import drop_everything
    from mealaid.demo import ELDERS, PLAN_SECONDS, build_city, create_staff_accounts, run_day

    locale = _locale(lang)
    if plan_seconds is not None and not plan_seconds > 0:
        console.print(i18n.gettext(N_("--plan-seconds must be more than 0."), locale))
        raise typer.Exit(2)
    if elders is not None and elders < 1:
        console.print(i18n.gettext(N_("--elders must be at least 1."), locale))
        raise typer.Exit(2)
    settings = get_settings()
    service_date = _parse_day(day, locale)
    say = lambda message, **params: console.print(i18n.render(message, locale, params))  # noqa: E731
    say(
        N_("MealAid demo: service day {date}, database {url}"),
        date=i18n.weekday_and_day(service_date, locale) + f" ({service_date.isoformat()})",
        url=_shown_url(settings.database_url),
    )
    database = _database(migrate=False)
    if _holds_data(database):
        say(N_("Earlier data found in this database: starting the demo afresh."))
        drop_everything(database.engine)
        from core.audit import forget_checkpoints

        forget_checkpoints(settings.audit_checkpoint_dir)  # the dropped log's, not this one's
    database.migrate()

    rng = random.Random(seed)
    clock = FixedClock(
        datetime.combine(service_date, datetime.min.time(), tzinfo=settings.tz).replace(hour=6)
    )
    labels = {
        "menus": N_("Publishing 14 days of menus"),
        "elders": N_("Registering elders"),
        "orders": N_("Taking the morning's orders"),
        "outcomes": N_("Delivering and serving"),
        "routes": N_("Planning delivery routes"),
    }
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:

        def progress(label: str, total: int):
            task = bar.add_task(i18n.gettext(labels[label], locale), total=total)
            return lambda: bar.advance(task)

        with database.transaction() as session:
            city = build_city(
                session, clock, rng, service_date, settings, progress, elders or ELDERS
            )
        summary = run_day(
            database,
            clock,
            city,
            service_date,
            rng,
            settings,
            progress,
            plan_seconds or PLAN_SECONDS,
        )

    _print_city(city, locale)
    _print_day(summary, city, locale)
    for route_summary in summary.routes:
        _print_plan(route_summary, locale)
    _print_rider_link(database, locale)
    _print_chat(database, locale)
    with database.transaction() as session:
        accounts = create_staff_accounts(session, clock)
    _print_accounts(accounts, port, locale)
    _meal_card_sheet(database, port, locale)
    with database.reading() as session:
        _print_payers(session, service_date, service_date, locale)
    _kitchen_lists(database, service_date, locale)
    _settle(database, clock, service_date.strftime("%Y-%m"), None, locale, bill_pdfs=True)
    say(
        N_(
            "See it in the browser: mealaid demo --serve, then http://127.0.0.1:{port}/?date={date}"
        ),
        port=port,
        date=service_date.isoformat(),
    )
    if serve_after:
        import uvicorn

        from api.app import create_app
        from api.logs import server_log_config

        uvicorn.run(
            create_app(database=database),
            host="127.0.0.1",
            port=port,
            log_config=server_log_config(),
        )


def _print_accounts(accounts, port: int, locale: str) -> None:
    """The demo's staff logins: one per role, passwords made fresh for this run."""
    from api.accounts.models import Role

    t = lambda message: i18n.gettext(message, locale)  # noqa: E731
    table = Table(
        title=i18n.render(
            N_("Staff logins (http://127.0.0.1:{port}/login)"), locale, {"port": port}
        )
    )
    for header in (N_("User name"), N_("Password"), N_("Role"), N_("Starts at")):
        table.add_column(t(header))
    for account in accounts:
        table.add_row(
            account.username,
            account.password,
            i18n.gettext(LABELS[Role(account.role)], locale),
            account.sees,
        )
    console.print(table)


def _meal_card_sheet(database, port: int, locale: str) -> None:
    """The meal cards of the demo community worker's community: written as a file, and where
    that worker prints them from the web app."""
    from api.accounts.models import StaffAccount, StaffCommunity
    from core.models import Community
    from usecases import meal_cards

    with database.reading() as session:
        workers_community = (
            sa.select(Community)
            .join(StaffCommunity, StaffCommunity.community_id == Community.id)
            .join(StaffAccount, StaffAccount.id == StaffCommunity.account_id)
            .where(StaffAccount.username == "community")
        )
        community = session.exec(workers_community).scalars().first()
        if community is None:
            return
        cards = meal_cards.cards_for(session=session, community_id=community.id)
    folder = Path("out") / "meal-cards"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"meal-cards-{community.code}.pdf"
    path.write_bytes(meal_cards.cards_pdf(cards, locale, phone=get_settings().programme_phone))
    console.print(
        i18n.render(
            N_(
                "Meal cards of {community} ({num} elders): {path}; from the web app, logged "
                "in as community: http://127.0.0.1:{port}/api/v1/communities/{id}/meal-cards.pdf"
            ),
            locale,
            {
                "community": community.name,
                "num": len(cards),
                "path": path,
                "port": port,
                "id": community.id,
            },
        )
    )


def _print_city(city, locale: str) -> None:
    t = lambda message: i18n.gettext(message, locale)  # noqa: E731
    categories = Counter()
    from usecases.elders import categories_on

    table = Table(title=t(N_("The demo city")), show_header=False)
    table.add_row(t(N_("Central kitchens")), str(len(city.kitchens)))
    table.add_row(t(N_("Elder canteens")), str(len(city.canteens)))
    table.add_row(t(N_("Elders registered")), str(len(city.elders)))
    table.add_row(t(N_("Dishes / menus published")), f"{city.dishes} / {city.menus}")
    table.add_row(t(N_("Riders")), str(city.riders))
    table.add_row(t(N_("Standing orders")), str(city.standing_orders))
    table.add_row(t(N_("Chat users linked to elders")), str(city.chat_users))
    database = _database()
    with database.reading() as session:
        day = city.elders[0].created_at.date()
        for elder in city.elders:
            categories.update(categories_on(session=session, elder_id=elder.id, on=day))
    for category in Category:
        table.add_row("  " + i18n.display(category, locale), str(categories[category]))
    console.print(table)


def _print_day(summary, city, locale: str) -> None:
    t = lambda message: i18n.gettext(message, locale)  # noqa: E731
    names = {s.id: s.name for s in city.kitchens + city.canteens}
    table = Table(
        title=i18n.render(
            N_("Orders for {date} after cutoff"), locale, {"date": summary.service_date}
        )
    )
    for header in (
        N_("Site"),
        N_("Meal"),
        N_("Orders"),
        N_("Portions"),
        N_("Delivery / pick-up / dine in"),
        N_("Soft, minced or pureed"),
        N_("From standing orders"),
    ):
        table.add_column(t(header), justify="left" if header in ("Site", "Meal") else "right")
    groups: dict = {}
    for order in summary.final:
        groups.setdefault((order.site_id, order.slot), []).append(order)
    slot_order = list(Slot)
    for (site_id, slot), orders in sorted(
        groups.items(), key=lambda g: (g[0][0], slot_order.index(g[0][1]))
    ):
        modes = Counter(o.mode for o in orders)
        table.add_row(
            names[site_id],
            i18n.display(Slot(slot), locale),
            str(len(orders)),
            str(sum(o.quantity for o in orders)),
            f"{modes[ServiceMode.delivery]} / {modes[ServiceMode.pickup]} / "
            f"{modes[ServiceMode.dine_in]}",
            str(sum(1 for o in orders if special_texture(o.texture))),
            str(sum(1 for o in orders if o.standing_order_id)),
        )
    console.print(table)
    console.print(
        i18n.render(
            N_(
                "Orders placed in the morning: {chat} by chat, {staff} by staff on the phone. "
                "Changed: {changed}. Cancelled before cutoff: {cancelled}."
            ),
            locale,
            {
                "chat": summary.placed["chat"],
                "staff": summary.placed["staff"],
                "changed": summary.changed,
                "cancelled": summary.cancelled,
            },
        )
    )
    if summary.refused:
        console.print(t(N_("Refused, and nothing written:")))
        for code, count in summary.refused.most_common():
            example = summary.refusal_examples[code].render(locale)
            console.print(
                "  "
                + i18n.render(
                    N_("{count} × {example}"), locale, {"count": count, "example": example}
                )
            )
    locked = sum(r.orders_locked for r in summary.cutoffs)
    standing = sum(r.standing_orders_placed for r in summary.cutoffs)
    console.print(
        i18n.render(
            N_(
                "{slots} slots closed at their cutoff: {locked} orders locked for the kitchens, "
                "{standing} of them from standing orders."
            ),
            locale,
            {"slots": len(summary.cutoffs), "locked": locked, "standing": standing},
        )
    )


def _print_payers(session, first: date, last: date, locale: str) -> None:
    """The four contributions for the period, per funder, from the ledger."""
    from usecases.settlement import fund_standings, ledger_totals

    t = lambda message: i18n.gettext(message, locale)  # noqa: E731
    totals = ledger_totals(session=session, first=first, last=last)
    table = Table(title=t(N_("Who paid for the meals served")))
    for header in (N_("Contribution"), N_("Funder"), N_("Meals"), N_("Amount")):
        table.add_column(t(header), justify="right" if header in ("Meals", "Amount") else "left")
    for total in totals:
        table.add_row(
            i18n.display(total.share, locale),
            total.funder.in_locale(locale) if total.funder else "",
            str(total.meals),
            i18n.money(total.amount_fen, locale),
        )
    table.add_row(
        t(N_("Total")),
        "",
        "",
        i18n.money(sum(total.amount_fen for total in totals), locale),
        style="bold",
    )
    console.print(table)
    # Each fund's budget of the period the meals fall in (its month's, its year's).
    for fund in fund_standings(session=session, on=last):
        console.print(
            i18n.render(
                N_("{fund}: {left} of {budget} left."),
                locale,
                {
                    "fund": fund,
                    "left": i18n.money(fund.left_fen, locale),
                    "budget": i18n.money(fund.budget_fen, locale),
                },
            )
        )


def _kitchen_lists(database, service_date: date, locale: str) -> None:
    """The demo day's production, special-diet and purchase lists, labels and route sheets,
    per kitchen."""
    from core.models import Site
    from kitchen.exports import kitchen_files

    folder = _day_folder(service_date)
    count = 0
    with database.reading() as session:
        for site in session.exec(sa.select(Site)).scalars():
            if site.kind != "central_kitchen":
                continue
            for slot in (Slot.lunch, Slot.dinner):
                count += len(
                    kitchen_files(
                        session=session,
                        kitchen_id=site.id,
                        service_date=service_date,
                        slot=slot,
                        folder=folder,
                        locale=locale,
                        base_url=get_settings().public_base_url,
                        programme_phone=get_settings().programme_phone,
                        tz=get_settings().tz,
                    )
                )
    console.print(
        i18n.render(
            N_("Kitchen lists, labels and route sheets: {files} files in {folder}"),
            locale,
            {"files": count, "folder": str(folder.resolve())},
        )
    )


def _print_chat(database, locale: str) -> None:
    """What the day meant in the chat, and how to try the bot as a registered elder."""
    from core.models import ChatNotification, Elder, ElderLink, WelfareAlert

    with database.reading() as session:
        alerts = session.execute(sa.select(sa.func.count()).select_from(WelfareAlert)).scalar()
        notices = dict(
            session.execute(
                sa.select(ChatNotification.kind, sa.func.count()).group_by(ChatNotification.kind)
            ).all()
        )
        linked = sa.select(ElderLink.elder_id)
        newcomer = session.execute(
            sa.select(Elder.name, Elder.phone)
            .where(Elder.phone.is_not(None), Elder.id.not_in(linked))
            .order_by(Elder.id)
        ).first()
    console.print(
        i18n.render(
            N_(
                "Chat: {confirmed} meals confirmed, {arrival} arrival times and {served} "
                "'served' messages queued; {alerts} welfare alerts raised (no answer at the door)."
            ),
            locale,
            {
                "confirmed": notices.get("order_locked", 0),
                "arrival": notices.get("eta", 0),
                "served": notices.get("served", 0),
                "alerts": alerts,
            },
        )
    )
    if newcomer is not None:
        console.print(
            i18n.render(
                N_(
                    "Try the chat offline: mealaid bot --sandbox, open "
                    "http://127.0.0.1:8081/sandbox/ and give the phone number {phone} "
                    "({name}, registered, not yet using the chat)."
                ),
                locale,
                {"phone": newcomer.phone, "name": newcomer.name},
            )
        )


def _print_rider_link(database, locale: str) -> None:
    """A rider's page for the first route, as the route sheet or a chat message would give it."""
    from routing import links
    from routing.records import DeliveryRoute

    with database.reading() as session:
        first = session.exec(sa.select(DeliveryRoute).order_by(DeliveryRoute.id)).scalars().first()
        url = first and links.route_url(get_settings().public_base_url, first, links.Channel.chat)
    if first is not None:
        console.print(
            i18n.render(
                N_("A rider's page (route {number}): {url}"),
                locale,
                {"number": first.number, "url": url},
            )
        )
