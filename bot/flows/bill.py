"""The month's bill: what the elder pays and what the programme's funders pay for her meals."""

from datetime import date, timedelta

from babel.dates import format_date

from billing.models import Share
from bot import texts
from bot.turn import Say, Turn
from core import i18n
from core.models import saved
from usecases.ordering import (
    elder_month,
)


def my_bill(turn: Turn, elder_id: int, edit: bool = True) -> list[Say]:
    elder = turn.elder(elder_id)
    today = turn.clock.now().date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    month = elder_month(session=turn.session, elder_id=saved(elder.id), first=first, last=last)
    money = turn.money
    lines = [turn.t(texts.BILL_TITLE, name=elder.name, month=_month_name(turn, first))]
    if month.meals:
        lines.append(turn.t(texts.BILL_MEALS, meals=month.meals, price=money(month.price_fen)))
        lines.append(turn.t(texts.BILL_ELDER, amount=money(month.paid_fen[Share.elder])))
        for share in (Share.government, Share.business, Share.charity):
            if month.paid_fen[share]:
                lines.append(
                    turn.t(texts.BILL_SHARE, share=share, amount=money(month.paid_fen[share]))
                )
    else:
        lines.append(turn.t(texts.BILL_NOTHING))
    if month.upcoming_meals:
        lines.append(
            turn.t(
                texts.BILL_UPCOMING,
                meals=month.upcoming_meals,
                amount=money(month.upcoming_elder_fen),
            )
        )
    return [Say("\n".join(lines), keyboard="main")]


def _month_name(turn: Turn, first: date) -> str:
    pattern = "y年M月" if turn.locale == "zh_CN" else "MMMM y"
    return format_date(first, format=pattern, locale=i18n.babel_locale(turn.locale))
