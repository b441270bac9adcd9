"""Welfare alerts: when a rider finds nobody at the door, the meal programme's daily check on the
elder has failed. Family are told at once; if nobody acknowledges in time the alert goes to the
community worker, then to the programme's duty line. Every step is recorded with its time.

The settings come as values from the caller: `welfare_ack_minutes` (the time each level has
to answer), `duty_phone` and `duty_chat_id` (the duty line, and the Telegram user id of its
chat, if it has one)."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, cast

import sqlalchemy as sa
from pydantic import StringConstraints
from sqlmodel import Session, col, select

from core.clock import Clock
from core.errors import Conflict, DomainError, NotFound
from core.i18n import N_
from core.models import (
    ChatNotification,
    ChatUser,
    Community,
    CommunityWorker,
    CommunityWorkerCommunity,
    Elder,
    ElderLink,
    EmergencyContact,
    Order,
    Rider,
    WelfareAlert,
    WelfareAlertStep,
    saved,
)
from core.notifications import notify
from core.types import AlertLevel, AlertStatus, LinkRelation, Slot
from core.validation import LINES, service


class AlertNotFound(NotFound):
    code = "alert_not_found"
    message = N_("We could not find this alert.")


class AlertClosed(Conflict):
    code = "alert_closed"
    message = N_("This alert was already closed.")


class AlertNotYours(DomainError):
    code = "alert_not_yours"
    status = 403
    message = N_("Only family and carers of this elder can answer this alert.")


ACKNOWLEDGEMENTS = {
    "reached": N_("reached her or him"),
    "coming": N_("on the way"),
}


def _step(
    session: Session,
    alert: WelfareAlert,
    at: datetime,
    kind: str,
    actor: str,
    note: str | None = None,
) -> None:
    session.add(
        WelfareAlertStep(alert_id=saved(alert.id), at=at, kind=kind, actor=actor, note=note)
    )


def _family(session: Session, elder_id: int) -> list[int]:
    return list(
        session.exec(
            select(ElderLink.chat_user_id).where(
                ElderLink.elder_id == elder_id,
                ElderLink.relation == LinkRelation.family,
                col(ElderLink.revoked_at).is_(None),
            )
        )
    )


# The outcome an alert is closed with when the rider takes back "No answer" (the mark was a
# slip, or she opened the door a moment later); stored as this msgid, shown translated.
WITHDRAWN = N_("Withdrawn: the rider took back “No answer”")


def _prefix(session: Session, alert: WelfareAlert) -> str:
    """The start of this alert's notice keys. An alert raised again after a withdrawal tells
    everyone afresh, so each raising has keys of its own."""
    raised = session.exec(
        select(sa.func.count())
        .select_from(WelfareAlertStep)
        .where(WelfareAlertStep.alert_id == alert.id, WelfareAlertStep.kind == "raised")
    ).one()
    return f"welfare:{alert.id}" if raised <= 1 else f"welfare:{alert.id}:{raised}"


def raise_alert(
    *,
    session: Session,
    clock: Clock,
    order: Order,
    by: str,
    welfare_ack_minutes: int,
    duty_phone: str,
    duty_chat_id: int | None,
) -> WelfareAlert:
    """A no-answer on this order: open the alert (once per order) and tell the family, who
    have `welfare_ack_minutes` to answer (with nobody to tell, the next level is told at once).
    An alert withdrawn by an undo opens again when nobody answers after all."""
    alert = session.exec(select(WelfareAlert).where(WelfareAlert.order_id == order.id)).first()
    if alert is not None and not (
        alert.status == AlertStatus.closed and alert.outcome == WITHDRAWN
    ):
        return alert
    now = clock.now()
    family = _family(session, order.elder_id)
    if alert is None:
        alert = WelfareAlert(
            elder_id=order.elder_id, order_id=saved(order.id), raised_at=now, raised_by=by
        )
    alert.raised_at, alert.raised_by, alert.status = now, by, AlertStatus.open
    alert.level, alert.escalate_at = AlertLevel.family, now + timedelta(minutes=welfare_ack_minutes)
    alert.acknowledged_at = alert.acknowledged_by = None
    alert.closed_at = alert.closed_by = alert.outcome = None
    session.add(alert)
    session.flush()
    _step(session, alert, now, "raised", by)
    session.flush()
    if not family:
        _escalate(
            session,
            alert,
            now,
            welfare_ack_minutes=welfare_ack_minutes,
            duty_phone=duty_phone,
            duty_chat_id=duty_chat_id,
        )
    prefix = _prefix(session, alert)
    for chat_user_id in family:
        notify(
            session,
            chat_user_id=chat_user_id,
            kind="welfare_alert",
            key=f"{prefix}:family:{chat_user_id}",
            at=now,
            alert_id=alert.id,
            elder_id=order.elder_id,
            slot=order.slot,
            at_time=now.isoformat(),
        )
        _step(session, alert, now, "sent_to_family", f"chat:{chat_user_id}")
    session.flush()
    return alert


def withdraw_alert(
    *, session: Session, clock: Clock, order_id: int, by: str
) -> WelfareAlert | None:
    """The rider took back "No answer" on this order: its alert is closed as withdrawn (with
    a step saying so), escalation stops, and everyone it reached is told. An alert staff
    closed already stays as they closed it."""
    alert = session.exec(select(WelfareAlert).where(WelfareAlert.order_id == order_id)).first()
    if alert is None or alert.status == AlertStatus.closed:
        return alert
    now = clock.now()
    prefix = _prefix(session, alert)
    told = session.exec(
        select(ChatNotification.chat_user_id).where(
            col(ChatNotification.key).like(f"{prefix}:%"),
            col(ChatNotification.kind).in_(["welfare_alert", "welfare_escalated"]),
        )
    ).all()
    alert.status, alert.escalate_at = AlertStatus.closed, None
    alert.closed_at, alert.closed_by, alert.outcome = now, by, WITHDRAWN
    session.add(alert)
    _step(session, alert, now, "withdrawn", by)
    for chat_user_id in sorted(set(told)):
        notify(
            session,
            chat_user_id=chat_user_id,
            kind="welfare_withdrawn",
            key=f"{prefix}:withdrawn:{chat_user_id}",
            at=now,
            alert_id=alert.id,
            elder_id=alert.elder_id,
        )
    session.flush()
    return alert


def escalate_due(
    *,
    session: Session,
    clock: Clock,
    welfare_ack_minutes: int,
    duty_phone: str,
    duty_chat_id: int | None,
) -> list[WelfareAlert]:
    """Move every unacknowledged alert whose time is up to the next level (which has
    `welfare_ack_minutes` in turn; the duty line is the last)."""
    now = clock.now()
    query = (
        select(WelfareAlert)
        .where(
            WelfareAlert.status == AlertStatus.open,
            col(WelfareAlert.escalate_at).is_not(None),
            col(WelfareAlert.escalate_at) <= now,
        )
        .order_by(col(WelfareAlert.id))
    )
    # Several processes escalate (the scheduler, the bot): each alert moves one level once. On
    # PostgreSQL a row another process is escalating is skipped; SQLite's writers take turns.
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list(session.exec(query))
    for alert in due:
        _escalate(
            session,
            alert,
            now,
            welfare_ack_minutes=welfare_ack_minutes,
            duty_phone=duty_phone,
            duty_chat_id=duty_chat_id,
        )
    session.flush()
    return due


def _covers(community_ids: set[int]) -> sa.ColumnElement[bool]:
    """A worker of one of these communities: her own, or one she also covers."""
    return sa.or_(
        col(CommunityWorker.community_id).in_(community_ids),
        col(CommunityWorker.id).in_(
            select(CommunityWorkerCommunity.worker_id).where(
                col(CommunityWorkerCommunity.community_id).in_(community_ids)
            )
        ),
    )


def _escalate(
    session: Session,
    alert: WelfareAlert,
    now: datetime,
    *,
    welfare_ack_minutes: int,
    duty_phone: str,
    duty_chat_id: int | None,
) -> None:
    """One level up: from the family to the community workers of the elder's community who
    use the chat, from them to the duty line. A level that can reach nobody (no family in the
    chat, no worker in it) is passed at once, and the alert's record says so."""
    if alert.level == AlertLevel.family:
        elder = session.get_one(Elder, alert.elder_id)
        alert.level = AlertLevel.community_worker
        alert.escalate_at = now + timedelta(minutes=welfare_ack_minutes)
        reachable = session.exec(
            select(CommunityWorker).where(
                _covers({elder.community_id}),
                col(CommunityWorker.active).is_(True),
                col(CommunityWorker.chat_user_id).is_not(None),
            )
        ).all()
        for worker in reachable:
            _step(session, alert, now, "escalated_to_worker", f"worker:{worker.id}")
            _escalation_notice(session, alert, saved(worker.chat_user_id), "worker", now)
        if reachable:
            session.add(alert)
            return
        _step(session, alert, now, "worker_unreachable", "none")
    alert.level, alert.escalate_at = AlertLevel.duty, None
    _step(session, alert, now, "escalated_to_duty", "duty", duty_phone)
    duty = _duty_chat(session, duty_chat_id)
    if duty is not None:
        _escalation_notice(session, alert, duty, "duty", now)
    session.add(alert)


def _duty_chat(session: Session, duty_chat_id: int | None) -> int | None:
    """The duty line's chat user, found by its Telegram user id (None: no chat of its own)."""
    if duty_chat_id is None:
        return None
    return session.exec(
        select(ChatUser.id).where(ChatUser.telegram_user_id == duty_chat_id)
    ).first()


def _escalation_notice(
    session: Session, alert: WelfareAlert, chat_user_id: int, level: str, now: datetime
) -> None:
    notify(
        session,
        chat_user_id=chat_user_id,
        kind="welfare_escalated",
        key=f"{_prefix(session, alert)}:{level}:{chat_user_id}",
        at=now,
        alert_id=alert.id,
        elder_id=alert.elder_id,
        raised_at=alert.raised_at.isoformat(),
    )


def may_answer(
    session: Session, alert: WelfareAlert, chat_user_id: int, *, duty_chat_id: int | None
) -> bool:
    """Family linked to the elder, or a community worker of the elder's community, or the duty
    line's chat (`duty_chat_id`, its Telegram user id)."""
    if chat_user_id in _family(session, alert.elder_id):
        return True
    elder = session.get_one(Elder, alert.elder_id)
    worker = session.exec(
        select(CommunityWorker.id).where(
            _covers({elder.community_id}),
            CommunityWorker.chat_user_id == chat_user_id,
        )
    ).first()
    return worker is not None or chat_user_id == _duty_chat(session, duty_chat_id)


def acknowledge(
    *,
    session: Session,
    clock: Clock,
    alert_id: int,
    chat_user_id: int,
    how: str,
    duty_chat_id: int | None,
) -> WelfareAlert:
    """Someone who may answer it (`may_answer`) answered the alert ("reached" her, or
    "coming"): escalation stops, and the others who were told hear who is handling it."""
    alert = session.get(WelfareAlert, alert_id)
    if alert is None:
        raise AlertNotFound(alert_id=alert_id)
    if how not in ACKNOWLEDGEMENTS or not may_answer(
        session, alert, chat_user_id, duty_chat_id=duty_chat_id
    ):
        raise AlertNotYours()
    now = clock.now()
    actor = f"chat:{chat_user_id}"
    _step(session, alert, now, f"acknowledged_{how}", actor)
    if alert.status == AlertStatus.open:
        alert.status, alert.escalate_at = AlertStatus.acknowledged, None
        alert.acknowledged_at, alert.acknowledged_by = now, actor
        session.add(alert)
        told = session.exec(
            select(ChatNotification.chat_user_id).where(
                col(ChatNotification.key).like(f"welfare:{alert.id}:%"),
                ChatNotification.chat_user_id != chat_user_id,
            )
        ).all()
        who = session.get(ChatUser, chat_user_id)
        for other in sorted(set(told)):
            notify(
                session,
                chat_user_id=other,
                kind="welfare_handled",
                key=f"{_prefix(session, alert)}:handled:{other}",
                at=now,
                alert_id=alert.id,
                elder_id=alert.elder_id,
                by=who.name if who else "",
                how=how,
            )
    session.flush()
    return alert


Outcome = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), LINES
]


@service
def close_alert(
    *, session: Session, clock: Clock, alert_id: int, by: str, outcome: Outcome
) -> WelfareAlert:
    """Staff close an alert with what happened (she was at the clinic, found unwell, ...)."""
    alert = session.get(WelfareAlert, alert_id)
    if alert is None:
        raise AlertNotFound(alert_id=alert_id)
    if alert.status == AlertStatus.closed:
        raise AlertClosed(alert_id=alert_id)
    now = clock.now()
    alert.status, alert.escalate_at = AlertStatus.closed, None
    alert.closed_at, alert.closed_by, alert.outcome = now, by, outcome
    session.add(alert)
    _step(session, alert, now, "closed", by, outcome)
    session.flush()
    return alert


@dataclass(frozen=True)
class OpenAlert:
    id: int
    elder_id: int
    elder: str
    slot: Slot
    raised_at: datetime
    status: AlertStatus
    level: AlertLevel
    acknowledged_by: str | None


def open_alerts(*, session: Session) -> list[OpenAlert]:
    """Alerts not closed yet, oldest first: what staff must look at."""
    rows = session.execute(
        sa.select(
            col(WelfareAlert.id),
            col(WelfareAlert.elder_id),
            col(Elder.name),
            col(Order.slot),
            col(WelfareAlert.raised_at),
            col(WelfareAlert.status),
            col(WelfareAlert.level),
            col(WelfareAlert.acknowledged_by),
        )
        .join(Elder, col(Elder.id) == WelfareAlert.elder_id)
        .join(Order, col(Order.id) == WelfareAlert.order_id)
        .where(col(WelfareAlert.status) != AlertStatus.closed)
        .order_by(col(WelfareAlert.raised_at), col(WelfareAlert.id))
    ).all()
    return [
        OpenAlert(i, e, name, Slot(slot), at, AlertStatus(status), AlertLevel(level), ack)
        for i, e, name, slot, at, status, level, ack in rows
    ]


# -- the staff's alerts board --------------------------------------------------------------------


@dataclass(frozen=True)
class AlertStepView:
    at: datetime
    kind: str
    actor: str
    note: str | None


@dataclass(frozen=True)
class AlertCall:
    """A number to call about an alert: the elder, a family contact, a community worker of
    her community, or the duty line."""

    who: str  # "elder", "family", "worker" or "duty"
    name: str
    phone: str


@dataclass(frozen=True)
class AlertView:
    """An alert as the board shows it: the elder, the meal, every step and who answered."""

    id: int
    elder_id: int
    elder: str
    community_id: int
    community: str
    service_date: date
    slot: Slot
    raised_at: datetime
    raised_by: str
    status: AlertStatus
    level: AlertLevel
    escalate_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    outcome: str | None
    steps: tuple[AlertStepView, ...]
    calls: tuple[AlertCall, ...]


def actor_name(session: Session, actor: str | None) -> str | None:
    """Who an alert's step names, as people read it: a chat user's or worker's name, or the
    staff account (the record keeps "chat:12", "worker:3", "rider:5", "staff:wang")."""
    if actor is None:
        return None
    kind, _, key = actor.partition(":")
    tables: dict[str, type[ChatUser | CommunityWorker | Rider]] = {
        "chat": ChatUser,
        "worker": CommunityWorker,
        "rider": Rider,
    }
    table = tables.get(kind)
    if table is not None and key.isdigit():
        # Each of the three has a name; get() of a union of tables is typed as a bare SQLModel.
        row = cast("ChatUser | CommunityWorker | Rider | None", session.get(table, int(key)))
        if row is not None:
            return row.name
    return key if kind == "staff" and key else actor


def alert_board(
    *,
    session: Session,
    community_ids: Collection[int] | None,
    alert_id: int | None = None,
    include_closed_since: datetime | None = None,
    duty_phone: str,
) -> list[AlertView]:
    """Alerts not closed yet (and those closed since a moment, when asked), oldest first, with
    their steps and the numbers to call (the last, the duty line's `duty_phone`); only of
    elders in `community_ids` (None: every community)."""
    shown = col(WelfareAlert.status) != AlertStatus.closed
    if include_closed_since is not None:
        shown = shown | (col(WelfareAlert.closed_at) >= include_closed_since)
    query = (
        sa.select(
            WelfareAlert,
            col(Elder.name),
            col(Elder.community_id),
            col(Community.name),
            Order,
            col(Elder.phone),
        )
        .join(Elder, col(Elder.id) == WelfareAlert.elder_id)
        .join(Community, col(Community.id) == Elder.community_id)
        .join(Order, col(Order.id) == WelfareAlert.order_id)
        .order_by(col(WelfareAlert.raised_at), col(WelfareAlert.id))
    )
    query = query.where(shown if alert_id is None else col(WelfareAlert.id) == alert_id)
    if community_ids is not None:
        query = query.where(col(Elder.community_id).in_(list(community_ids) or [-1]))
    found = session.execute(query).all()
    steps: dict[int, list[AlertStepView]] = {}
    names: dict[str | None, str | None] = {}

    def name(actor: str | None) -> str | None:
        if actor not in names:
            names[actor] = actor_name(session, actor)
        return names[actor]

    family: dict[int, list[AlertCall]] = {}
    workers: dict[int, list[AlertCall]] = {}
    duty = [AlertCall("duty", "", duty_phone)]
    if found:
        for contact in session.exec(
            select(EmergencyContact)
            .where(col(EmergencyContact.elder_id).in_({a.elder_id for a, *_ in found}))
            .order_by(col(EmergencyContact.priority), col(EmergencyContact.id))
        ):
            family.setdefault(contact.elder_id, []).append(
                AlertCall("family", f"{contact.name} ({contact.relation})", contact.phone)
            )
        wanted = {c for _, _, c, *_ in found}
        callable_workers = session.exec(
            select(CommunityWorker)
            .where(_covers(wanted), col(CommunityWorker.active).is_(True))
            .order_by(col(CommunityWorker.id))
        ).all()
        covered = {(saved(w.id), w.community_id) for w in callable_workers} | set(
            session.exec(
                select(
                    CommunityWorkerCommunity.worker_id, CommunityWorkerCommunity.community_id
                ).where(
                    col(CommunityWorkerCommunity.worker_id).in_([w.id for w in callable_workers])
                )
            ).all()
        )
        for worker in callable_workers:
            for community_id in sorted(c for w, c in covered if w == worker.id and c in wanted):
                workers.setdefault(community_id, []).append(
                    AlertCall("worker", worker.name, worker.phone)
                )
        for step in session.exec(
            select(WelfareAlertStep)
            .where(col(WelfareAlertStep.alert_id).in_([a.id for a, *_ in found]))
            .order_by(col(WelfareAlertStep.at), col(WelfareAlertStep.id))
        ):
            steps.setdefault(step.alert_id, []).append(
                AlertStepView(step.at, step.kind, name(step.actor) or "", step.note)
            )
    return [
        AlertView(
            id=alert.id,
            elder_id=alert.elder_id,
            elder=elder,
            community_id=community_id,
            community=community,
            service_date=order.service_date,
            slot=Slot(order.slot),
            raised_at=alert.raised_at,
            raised_by=name(alert.raised_by) or "",
            status=AlertStatus(alert.status),
            level=AlertLevel(alert.level),
            escalate_at=alert.escalate_at,
            acknowledged_at=alert.acknowledged_at,
            acknowledged_by=name(alert.acknowledged_by),
            closed_at=alert.closed_at,
            closed_by=name(alert.closed_by),
            outcome=alert.outcome,
            steps=tuple(steps.get(alert.id, ())),
            calls=tuple(
                ([AlertCall("elder", elder, phone)] if phone else [])
                + family.get(alert.elder_id, [])
                + workers.get(community_id, [])
                + duty
            ),
        )
        for alert, elder, community_id, community, order, phone in found
    ]


def alert_community(*, session: Session, alert_id: int) -> int:
    """The community of the elder an alert is about (for who may close it)."""
    community_id: int | None = session.execute(
        sa.select(col(Elder.community_id))
        .join(WelfareAlert, col(WelfareAlert.elder_id) == Elder.id)
        .where(col(WelfareAlert.id) == alert_id)
    ).scalar_one_or_none()
    if community_id is None:
        raise AlertNotFound(alert_id=alert_id)
    return community_id
