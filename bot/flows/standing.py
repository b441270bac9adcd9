"""Standing orders (weekday lunches, say): making one in a few taps, pausing it for a hospital
stay or a visit, resuming and stopping it."""

from datetime import date, timedelta

from babel.dates import get_day_names
from sqlmodel import col, select

from bot import callbacks as cb
from bot import texts
from bot.flows.ordering import home_site, mode_for, modes_for, suitable_for
from bot.turn import MODE_LETTERS, Buttons, NotYours, Say, Turn, capital, day_label
from core import i18n
from core.diet import profile_of_elder
from core.errors import NoMenu
from core.models import (
    Elder,
    MealSlot,
    Site,
    StandingOrder,
    StandingOrderPause,
    saved,
)
from core.sites import (
    cutoff_at,
    get_slot,
)
from core.types import Slot
from kitchen.exports import variant_name
from usecases.menus import MenuChoice, own_style_first
from usecases.ordering import (
    create_standing_order,
    pause_standing_order,
    quote,
    resume_standing_order,
    stop_standing_order,
)


def _weekdays(turn: Turn, standing_order: StandingOrder) -> str:
    return _weekday_names(turn, standing_order.weekdays)


def _weekday_names(turn: Turn, weekdays: list[int]) -> str:
    days = get_day_names("abbreviated", locale=i18n.babel_locale(turn.locale))
    # ISO weekdays (Monday = 1); Babel counts from Monday = 0.
    return turn.join(days[d - 1] for d in sorted(weekdays))


def standing(turn: Turn, elder_id: int, edit: bool = True) -> list[Say]:
    """The elder's standing orders, with pause and resume buttons (a hospital stay, a visit)."""
    elder = turn.elder(elder_id)
    orders = list(
        turn.session.exec(
            select(StandingOrder).where(
                StandingOrder.elder_id == elder.id, col(StandingOrder.active).is_(True)
            )
        )
    )
    rows: Buttons = []
    if not orders:
        lines = [turn.t(texts.STANDING_NONE, name=elder.name)]
    else:
        lines = [turn.t(texts.STANDING_TITLE, name=elder.name)]
        today = turn.clock.now().date()
        for standing_order in orders:
            site = turn.session.get(Site, standing_order.site_id)
            slot, weekdays = Slot(standing_order.slot), _weekdays(turn, standing_order)
            line = turn.t(
                texts.STANDING_LINE, slot=slot, weekdays=weekdays, site=site.name if site else ""
            )
            pauses = list(
                turn.session.exec(
                    select(StandingOrderPause).where(
                        StandingOrderPause.standing_order_id == standing_order.id,
                        StandingOrderPause.end_date >= today,
                    )
                )
            )
            for pause in pauses:
                line += " · " + turn.t(
                    texts.STANDING_PAUSED, start=pause.start_date, end=pause.end_date
                )
            lines.append(line)
            rows.append(
                [
                    (
                        turn.t(texts.PAUSE_BUTTON, slot=slot, weekdays=weekdays),
                        cb.PauseFrom(saved(standing_order.id)),
                    )
                ]
            )
            if pauses:
                label = turn.t(texts.RESUME_BUTTON, slot=slot, weekdays=weekdays)
                rows.append([(label, cb.Resume(saved(standing_order.id)))])
            label = turn.t(texts.STANDING_STOP, slot=slot, weekdays=weekdays)
            rows.append([(label, cb.AskStop(saved(standing_order.id)))])
    lines.append(turn.t(texts.STANDING_CHANGE, phone=turn.phone(elder)))
    rows.append([(turn.t(texts.STANDING_NEW), cb.NewStanding(saved(elder.id)))])
    return [Say("\n".join(lines), rows, edit=edit)]


def _own_standing(turn: Turn, standing_order_id: int) -> StandingOrder:
    standing_order = turn.session.get(StandingOrder, standing_order_id)
    if standing_order is None:
        raise NotYours()
    turn.elder(standing_order.elder_id)
    return standing_order


def pause_from(turn: Turn, standing_order_id: int) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    today = turn.clock.now().date()
    rows: Buttons = [
        [(day_label(turn, day), cb.PauseUntil(saved(standing_order.id), day))]
        for day in (today + timedelta(days=n) for n in range(7))
    ]
    return [Say(turn.t(texts.PAUSE_FROM), rows, edit=True)]


def pause_until(turn: Turn, standing_order_id: int, start: date) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    rows: Buttons = [
        [(day_label(turn, day), cb.Pause(saved(standing_order.id), start, day))]
        for day in (start + timedelta(days=n) for n in range(14))
    ]
    return [Say(turn.t(texts.PAUSE_UNTIL), rows, edit=True)]


def pause(turn: Turn, standing_order_id: int, start: date, end: date) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    pause_standing_order(
        session=turn.session,
        standing_order_id=saved(standing_order.id),
        start_date=start,
        end_date=end,
        reason="chat",
    )
    text = turn.t(
        texts.PAUSED,
        slot=Slot(standing_order.slot),
        start=day_label(turn, start),
        end=day_label(turn, end),
        again=day_label(turn, end + timedelta(days=1)),
    )
    return [Say(text, edit=True)]


def ask_stop(turn: Turn, standing_order_id: int) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    slot, weekdays = Slot(standing_order.slot), _weekdays(turn, standing_order)
    text = turn.t(texts.STANDING_STOP_ASK, slot=slot, weekdays=weekdays)
    rows: Buttons = [
        [(turn.t(texts.STANDING_STOP_YES), cb.Stop(saved(standing_order.id)))],
        [(turn.t(texts.CANCEL_NO), cb.Keep())],
    ]
    return [Say(text, rows, edit=True)]


def stop(turn: Turn, standing_order_id: int) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    if standing_order.active:
        stop_standing_order(session=turn.session, standing_order_id=saved(standing_order.id))
    slot, weekdays = Slot(standing_order.slot), _weekdays(turn, standing_order)
    return [Say(turn.t(texts.STANDING_STOPPED, slot=slot, weekdays=weekdays), edit=True)]


# A new standing order is built up in its buttons' data: the meal, then the weekdays as a bit
# mask (Monday = 1, Sunday = 64), then the variant ("-": whatever the menu has that suits) and
# the way it comes, then Confirm.
MONDAY_TO_FRIDAY, EVERY_DAY = 0b0011111, 0b1111111


def _mask_days(mask: int) -> list[int]:
    return [day for day in range(1, 8) if mask & (1 << (day - 1))]


def new_standing(turn: Turn, elder_id: int) -> list[Say]:
    elder = turn.elder(elder_id)
    site = home_site(turn, elder)
    slots = [
        meal_slot.slot
        for meal_slot in turn.session.exec(
            select(MealSlot)
            .where(col(MealSlot.site_id) == site.id)
            .order_by(col(MealSlot.cutoff_time))
        )
    ]
    rows: Buttons = [
        [(capital(turn.show(Slot(slot))), cb.StandingDays(saved(elder.id), Slot(slot), 0))]
        for slot in slots
    ]
    rows.append([(turn.t(texts.BACK), cb.Standing(saved(elder.id)))])
    return [Say(turn.t(texts.STANDING_PICK_SLOT, name=elder.name), rows, edit=True)]


def standing_days(turn: Turn, elder_id: int, slot: Slot, mask: int) -> list[Say]:
    elder = turn.elder(elder_id)
    mask &= EVERY_DAY
    names = get_day_names("wide", locale=i18n.babel_locale(turn.locale))
    rows: Buttons = []
    for day in range(1, 8):
        bit = 1 << (day - 1)
        label = ("☑️ " if mask & bit else "⬜ ") + names[day - 1]
        rows.append([(label, cb.StandingDays(saved(elder.id), slot, mask ^ bit))])
    rows.append(
        [
            (
                turn.t(texts.STANDING_WEEKDAYS),
                cb.StandingDays(saved(elder.id), slot, MONDAY_TO_FRIDAY),
            ),
            (turn.t(texts.STANDING_EVERY_DAY), cb.StandingDays(saved(elder.id), slot, EVERY_DAY)),
        ]
    )
    if mask:
        rows.append(
            [(turn.t(texts.STANDING_NEXT), cb.StandingVariant(saved(elder.id), slot, mask))]
        )
    rows.append([(turn.t(texts.BACK), cb.NewStanding(saved(elder.id)))])
    return [Say(turn.t(texts.STANDING_PICK_DAYS, slot=slot), rows, edit=True)]


def _coming_choices(turn: Turn, elder: Elder, site: Site, slot: Slot) -> list[MenuChoice]:
    """What suits the elder on the site's menus for this meal over the coming week."""
    today = turn.clock.now().date()
    found: list[MenuChoice] = []
    for offset in range(7):
        try:
            found += suitable_for(turn, elder, site, today + timedelta(days=offset), slot)
        except NoMenu:
            continue  # not published yet
    return found


def standing_variant(turn: Turn, elder_id: int, slot: Slot, mask: int) -> list[Say]:
    elder = turn.elder(elder_id)
    if not mask & EVERY_DAY:
        return standing_days(turn, elder_id, slot, mask)
    site = home_site(turn, elder)
    # Her own style first, as when ordering one meal.
    profile = profile_of_elder(elder.name, elder.texture, elder.diet_needs, elder.allergies)
    coming = own_style_first(_coming_choices(turn, elder, site, slot), profile)
    variants = list(dict.fromkeys(c.variant for c in coming))
    days = mask & EVERY_DAY
    rows: Buttons = [
        [
            (
                capital(variant_name(variant, turn.locale)),
                cb.StandingReview(saved(elder.id), slot, days, variant, "-"),
            )
        ]
        for variant in variants
    ]
    rows.append(
        [
            (
                turn.t(texts.STANDING_ANY_VARIANT),
                cb.StandingReview(saved(elder.id), slot, days, "-", "-"),
            )
        ]
    )
    rows.append([(turn.t(texts.BACK), cb.StandingDays(saved(elder.id), slot, mask))])
    return [Say(turn.t(texts.STANDING_PICK_VARIANT), rows, edit=True)]


def _standing_start(turn: Turn, site: Site, slot: Slot) -> date:
    """Today if today's meal still takes orders, else tomorrow."""
    now = turn.clock.now()
    meal_slot = get_slot(session=turn.session, site=site, slot=slot)
    today = now.date()
    return today if cutoff_at(meal_slot, today, turn.clock.tz) > now else today + timedelta(1)


def standing_confirm(
    turn: Turn, elder_id: int, slot: Slot, mask: int, variant: str, letter: str
) -> list[Say]:
    elder = turn.elder(elder_id)
    site = home_site(turn, elder)
    days = _mask_days(mask)
    if not days:
        return standing_days(turn, elder_id, slot, 0)
    mode = mode_for(turn, elder, site, letter)
    start = _standing_start(turn, site, slot)
    wanted = (
        variant_name(variant, turn.locale)
        if variant != "-"
        else turn.t(texts.STANDING_AS_THE_MENU_COMES)
    )
    lines = [
        turn.t(
            texts.STANDING_CONFIRM,
            slot=slot,
            weekdays=_weekday_names(turn, days),
            variant=wanted,
            mode=mode,
            site=site.name,
            start=day_label(turn, start),
        )
    ]
    choices = [
        c
        for c in _coming_choices(turn, elder, site, slot)
        if variant == "-" or c.variant == variant
    ]
    if choices:
        sample = choices[0]
        priced = quote(
            session=turn.session,
            elder_id=saved(elder.id),
            site_id=saved(site.id),
            service_date=start,
            slot=slot.value,
            price_fen=sample.price_fen,
            portions=1,
        )
        money = turn.money
        lines.append(
            turn.t(
                texts.STANDING_PRICE,
                price=money(sample.price_fen),
                amount=money(priced.elder_fen),
            )
        )
    rows: Buttons = []
    modes = modes_for(turn, site, elder)
    if len(modes) > 1:
        rows.append(
            [
                (
                    ("• " if m == mode else "") + capital(turn.show(m)),
                    cb.StandingReview(saved(elder.id), slot, mask, variant, MODE_LETTERS[m]),
                )
                for m in modes
            ]
        )
    make = cb.StandingMake(saved(elder.id), slot, mask, variant, MODE_LETTERS[mode])
    rows.append([(turn.t(texts.CONFIRM), make)])
    rows.append([(turn.t(texts.BACK), cb.StandingVariant(saved(elder.id), slot, mask))])
    return [Say("\n".join(lines), rows, edit=True)]


def standing_make(
    turn: Turn, elder_id: int, slot: Slot, mask: int, variant: str, letter: str
) -> list[Say]:
    elder = turn.elder(elder_id)
    site = home_site(turn, elder)
    days = _mask_days(mask)
    start = _standing_start(turn, site, slot)
    create_standing_order(
        session=turn.session,
        clock=turn.clock,
        settings=turn.settings,
        elder_id=saved(elder.id),
        site_id=saved(site.id),
        slot=slot,
        weekdays=days,
        variant=None if variant == "-" else variant,
        mode=mode_for(turn, elder, site, letter),
        start_date=start,
    )
    text = turn.t(
        texts.STANDING_MADE,
        slot=slot,
        weekdays=_weekday_names(turn, days),
        start=day_label(turn, start),
    )
    return [Say(text, edit=True)]


def resume(turn: Turn, standing_order_id: int) -> list[Say]:
    standing_order = _own_standing(turn, standing_order_id)
    today = turn.clock.now().date()
    resume_standing_order(
        session=turn.session, standing_order_id=saved(standing_order.id), on=today
    )
    text = turn.t(
        texts.RESUMED,
        slot=Slot(standing_order.slot),
        weekdays=_weekdays(turn, standing_order),
        date=day_label(turn, today),
    )
    return [Say(text, edit=True)]
