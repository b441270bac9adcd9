"""The canteens nearest to the elder's home (or to a shared location), with their ratings
and the next meal she can order there."""

from babel.numbers import format_decimal, format_percent

from bot import callbacks as cb
from bot import texts
from bot.flows.ordering import suitable_for
from bot.turn import Say, Turn, day_label
from core import i18n, ratings
from core.models import (
    Elder,
    Site,
    saved,
)
from core.sites import (
    nearby_sites,
)
from usecases.ordering import (
    orderable_meals,
    quote,
)

NEARBY_COUNT = 5


def nearby(turn: Turn, elder_id: int, edit: bool = True) -> list[Say]:
    """The canteens nearest to the elder's home, and a button to share where one is instead."""
    elder = turn.elder(elder_id)
    turn.state.step, turn.state.elder_id = "near", elder.id
    listed = nearby_list(turn, elder, elder.lat, elder.lon, texts.NEARBY_FROM_HOME, edit)
    return [*listed, Say(turn.t(texts.NEARBY_ELSEWHERE), keyboard="location")]


def _distance(turn: Turn, metres: float) -> str:
    if metres < 1000:
        return turn.t(texts.METRES, metres=int(round(metres, -1)))
    km = format_decimal(metres / 1000, format="#,##0.0", locale=i18n.babel_locale(turn.locale))
    return turn.t(texts.KILOMETRES, km=km)


def nearby_list(
    turn: Turn, elder: Elder, lat: float, lon: float, title: str, edit: bool
) -> list[Say]:
    found = nearby_sites(session=turn.session, lat=lat, lon=lon, limit=NEARBY_COUNT)
    if not found:
        return [Say(turn.t(texts.NEARBY_NONE, phone=turn.phone(elder)), edit=edit)]
    today = turn.clock.now().date()
    rated = ratings.site_ratings(
        session=turn.session, site_ids=[saved(site.id) for site, _ in found], today=today
    )
    lines, rows = [turn.t(title, name=elder.name)], []
    babel = i18n.babel_locale(turn.locale)
    for n, (site, metres) in enumerate(found, start=1):
        rating = rated.get(saved(site.id))
        opinion = (
            turn.t(
                texts.NEARBY_RATING,
                percent=format_percent(rating.good / rating.total, locale=babel),
                count=rating.total,
            )
            if rating
            else turn.t(texts.NEARBY_NOT_RATED)
        )
        distance = _distance(turn, metres)
        title = turn.t(texts.NEARBY_SITE, n=n, site=site.name, distance=distance, rating=opinion)
        lines += ["", title]
        lines += [site.address, _next_meal(turn, elder, site)]
        order_here = turn.t(texts.NEARBY_ORDER_AT, site=site.name)
        rows.append([(order_here, cb.OrderAt(saved(elder.id), saved(site.id)))])
    return [Say("\n".join(lines), rows, edit=edit)]


def _next_meal(turn: Turn, elder: Elder, site: Site) -> str:
    """The next meal one can still order at a site: what suits the elder and what they pay."""
    for meal in orderable_meals(session=turn.session, clock=turn.clock, site_id=saved(site.id)):
        suitable = suitable_for(turn, elder, site, meal.service_date, meal.slot)
        if not suitable:
            continue
        cheapest = min(suitable, key=lambda choice: choice.price_fen)
        priced = quote(
            session=turn.session,
            elder_id=saved(elder.id),
            site_id=saved(site.id),
            service_date=meal.service_date,
            slot=meal.slot.value,
            price_fen=cheapest.price_fen,
            portions=1,
        )
        names = list(dict.fromkeys(turn.show(choice.name) for choice in suitable))
        return turn.t(
            texts.NEARBY_MEAL,
            date=day_label(turn, meal.service_date),
            slot=meal.slot,
            dishes=turn.join(names[:3]),
            name=elder.name,
            amount=i18n.money(priced.elder_fen, turn.locale),
        )
    return turn.t(texts.NEARBY_NO_MEAL)
