"""Configuration for every MealAid process, read once from `MEALAID_*` environment variables."""

import hashlib
import hmac
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.marks import N_

DEFAULT_SECRET = "change-me-in-production"
# A production secret signs staff sessions, rider links and link codes: long and random.
MIN_SECRET_LENGTH, MIN_SECRET_DISTINCT = 32, 12
NEW_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEALAID_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///mealaid.db"
    timezone: str = "Asia/Shanghai"
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    secret_key: str = DEFAULT_SECRET
    bot_token: str | None = None
    bot_api_base_url: str = "https://api.telegram.org/bot"
    # Webhook mode: Telegram posts updates to {public_base_url}/telegram/webhook with this
    # secret in a header; `mealaid serve` sets the webhook when both this and the token are set.
    bot_webhook_secret: str | None = None
    programme_name: str = "MealAid"
    programme_phone: str = "12345"
    # Where staff and riders reach the web app; QR codes on labels point here.
    public_base_url: str = "http://127.0.0.1:8000"
    # The chat sandbox's page (`mealaid bot --sandbox`), linked from the set-up checklist for a
    # first order placed as an elder would; empty: no link (none in production either, where
    # the sandbox does not run).
    sandbox_url: str = "http://127.0.0.1:8081/sandbox/"
    # A route's signed links (sheet, labels, chat) work through their service day and this many
    # hours after its midnight: long enough for a late round, short enough that a lost sheet
    # or a photo of a label is worthless by the next morning.
    link_margin_hours: int = Field(default=6, ge=0, le=48)
    locales_dir: Path = Path(__file__).resolve().parent.parent / "locales"
    # Welfare alerts: minutes each level has to acknowledge before the next is told, and the
    # programme's duty line (a phone, and optionally a Telegram chat id that gets the alert).
    welfare_ack_minutes: int = 15
    # A meal's mark (served, collected, delivered, no answer, not collected) can be undone by
    # whoever made it, or the admin, for this many minutes: long enough to catch a slip of the
    # thumb, short enough that the day's records settle before anyone acts on them.
    undo_minutes: int = Field(default=5, ge=0, le=60)
    # The morning "lunch today?" reminder to elders without a standing order (local time).
    reminder_time: time = time(7, 30)
    # How often the bot sends what it owes people and escalates welfare alerts.
    notice_interval_seconds: float = 2.0
    # A bot process takes a batch of notices for this long: one that dies holding them lets the
    # claim run out, and another process sends them. A batch is sent within half of it.
    notice_lease_seconds: float = Field(default=60.0, gt=0)
    # The scheduler (cutoffs, planning, escalation, reminders, month end, backups): how often
    # it looks for due work, the search time each kitchen's planning gets, and where the nightly
    # SQLite backups go and for how many days they are kept.
    due_work_interval_seconds: float = 30.0
    # Unset: each kitchen's search time grows with its door deliveries, 10 to 60 s
    # (routing.search.search_seconds).
    plan_time_limit_seconds: float | None = Field(default=None, gt=0)
    # Each rider a plan sends out costs this many kilometres' worth: a rider fewer is worth
    # a few kilometres more (the reason for the default is at routing.search.RIDER_COST_KM).
    plan_rider_cost_km: float = Field(default=5.0, ge=0)
    # Cores one kitchen's search runs on. Unset: every core the process may use where it plans
    # alone (`mealaid plan`, the scheduler of `mealaid serve`), one per job on `mealaid worker`,
    # whose workers share their machine (mealaid.duework.plan_workers).
    plan_workers: int | None = Field(default=None, ge=1)
    backup_dir: Path = Path("backups")
    backup_keep_days: int = 14
    backup_time: time = time(2, 0)
    # `mealaid worker` (PostgreSQL): how often a worker says it is alive, and after how long
    # without a word its job is taken up by another worker (a worker killed, a machine gone).
    worker_heartbeat_seconds: float = 10.0
    worker_stalled_seconds: float = 30.0
    # A worker that has no connection to its database within this long takes it for away: it
    # says so, waits `worker_reconnect_seconds` and starts again (the jobs wait in the database).
    worker_database_timeout_seconds: float = Field(default=10.0, gt=0)
    worker_reconnect_seconds: float = Field(default=5.0, gt=0)
    # Failed jobs stay this long for someone to look at (`mealaid health` counts them), then
    # the daily tidy forgets them. Jobs that succeed are forgotten at once.
    failed_jobs_kept_days: int = 30
    duty_phone: str = "12345"
    duty_chat_id: int | None = None
    # A map app's link to a point, for riders' "navigate" buttons (Amap's URI API by default).
    navigation_url: str = "https://uri.amap.com/marker?position={lon},{lat}"
    max_order_quantity: int = 5
    order_horizon_days: int = 14
    # A crowd of requests waits its turn for a database connection (api.deps.Admission): at
    # most this many wait, each at most this long; the rest are told at once to try again
    # (503 with Retry-After) rather than left hanging.
    max_waiting_requests: int = Field(default=200, ge=0)
    max_wait_seconds: float = Field(default=10.0, gt=0)
    # The reverse proxies whose X-Forwarded-For names the client (comma-separated addresses
    # or networks, e.g. "127.0.0.1" for nginx on this machine). None by default: a header
    # anyone can send must not choose the address logins are limited by.
    trusted_proxies: str = ""
    # Staff sessions and logins.
    session_hours: int = 12
    # A staff session with no request for this long ends (a browser left open in an office):
    # the pages show elders' personal data.
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    login_max_failures: int = 5
    login_window_minutes: int = 15
    # Passwords checked at once by one web process (Argon2 takes a core for a tenth of a
    # second): as many more may wait; the rest are told to try again in a moment, so a crowd
    # of logins (or guesses from many addresses) leaves the staff's pages a core to run on.
    password_checks_at_once: int = Field(default=1, ge=1)
    # Wrong passwords from one address, whatever the user names, in the same window.
    login_max_failures_per_address: int = Field(default=20, ge=1)
    # Searches by phone digits each member of staff may make (usecases.phone_search): the
    # lists mask phone numbers, and each search says whether some digits are in one.
    phone_searches_per_hour: int = Field(default=30, ge=1)
    phone_searches_per_day: int = Field(default=100, ge=1)
    # The audit log's chain is an HMAC with this key, which the database does not hold: without
    # it nobody can rewrite an entry and its successors. Unset, it is derived from the secret
    # key; set it of its own in production so the secret key can be changed (links revoked)
    # without the log failing its check. Checkpoints of the log's head (count and hash, signed
    # with the same key) go to this folder, daily and with `mealaid audit checkpoint`.
    audit_key: str | None = None
    audit_checkpoint_dir: Path = Path("audit-checkpoints")
    # Elders' ID card numbers are stored as an HMAC with this key (core.id_numbers), so the
    # database alone gives none away. Unset, it is derived from the secret key; set it of its
    # own in production and never change it, or re-imports no longer find the elders
    # already registered.
    id_number_key: str | None = None
    # A geocoder that answers like Amap's (restapi.amap.com/v3/geocode/geo): elders registered
    # or imported without a location are placed at their address; without one, at their
    # community's centre, marked approximate.
    geocoder_url: str | None = None
    geocoder_key: str | None = None
    geocoder_timeout_seconds: float = Field(default=5.0, gt=0)

    def secret_refusal(self, host: str | None = None) -> tuple[str, dict[str, str]] | None:
        """Why this secret must not be used (a message to translate and its values), or None.
        With the built-in secret anyone can forge a staff session or a rider's link, so it is
        refused in production and for serving anywhere but this machine (`host`); production
        also refuses a short or repetitive one."""
        values = {"command": NEW_SECRET, "host": host or ""}
        if self.secret_key == DEFAULT_SECRET:
            if self.environment == "production":
                return N_(
                    "MEALAID_SECRET_KEY must be set in production. Make one with: {command}"
                ), values
            if host is not None and not _loopback(host):
                return (
                    N_(
                        "MealAid will not serve on {host} with the built-in development secret: "
                        "anyone could forge staff sessions and riders' links. Set "
                        "MEALAID_SECRET_KEY to a long random value, made with: {command}"
                    ),
                    values,
                )
            return None
        weak = (
            len(self.secret_key) < MIN_SECRET_LENGTH
            or len(set(self.secret_key)) < MIN_SECRET_DISTINCT
        )
        if self.environment == "production" and weak:
            return (
                N_(
                    "MEALAID_SECRET_KEY is too weak for production: use at least 32 random "
                    "characters, made with: {command}"
                ),
                values,
            )
        return None

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS in production or when the app is reached by https://."""
        return self.environment == "production" or self.public_base_url.startswith("https://")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def audit_chain_key(self) -> bytes:
        if self.audit_key:
            return self.audit_key.encode()
        return hmac.new(self.secret_key.encode(), b"mealaid audit chain", hashlib.sha256).digest()


def _loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
