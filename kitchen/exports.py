"""The kitchen's lists as files: production, special diets and purchase list (CSV and PDF),
the box labels (A4 sheets and thermal) and the riders' route sheets, for one kitchen, day and
meal."""

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session

from core import i18n
from core.i18n import N_
from core.reports import Document, Summary, write
from core.types import Allergen, DietTag, Slot, code_name
from kitchen.labels import VARIANT_NAMES, labels_for, sheet_pdf, thermal_pdf
from kitchen.route_sheets import kitchen_route_sheets
from kitchen.service import (
    Destination,
    packing_lists,
    production_list,
    purchase_list,
    special_diets,
)


def destination_label(destination: Destination, locale: str) -> str:
    """Where portions go, as the kitchen reads it: site, way of serving, and route if any."""
    label = f"{destination.site} · {i18n.display(destination.mode, locale)}"
    if destination.route is not None:
        label += " · " + i18n.render(N_("route {route}"), locale, {"route": destination.route})
    return label


def variant_name(variant: str, locale: str) -> str:
    return i18n.gettext(VARIANT_NAMES.get(variant, variant), locale)


def kitchen_files(
    *,
    session: Session,
    kitchen_id: int,
    service_date: date,
    slot: Slot,
    folder: Path,
    locale: str,
    base_url: str,
    programme_phone: str,
    tz: ZoneInfo,
) -> list[Path]:
    """Every file the kitchen prints for a meal: lists, packing lists, labels and route
    sheets (`programme_phone`, `tz`: the programme's, for the sheets)."""
    folder.mkdir(parents=True, exist_ok=True)

    def t(message: str) -> str:
        return i18n.gettext(message, locale)

    production = production_list(
        session=session, kitchen_id=kitchen_id, service_date=service_date, slot=slot
    )
    when = f"{i18n.weekday_and_day(service_date, locale)} {i18n.display(slot, locale)}"
    state = (
        t(N_("Final: every site has closed its orders."))
        if production.final
        else t(N_("NOT FINAL: live count so far plus the standing-order forecast."))
    )
    stem = f"{service_date.isoformat()}-{slot.value}-k{kitchen_id}"
    files = write(
        Document(
            f"production-{stem}",
            i18n.render(
                N_("Production list: {kitchen}, {when}"),
                locale,
                {"kitchen": production.kitchen, "when": when},
            ),
            [
                state,
                i18n.render(
                    N_("{portions} portions ordered, {forecast} forecast."),
                    locale,
                    {"portions": production.portions, "forecast": production.forecast},
                ),
            ],
            [
                t(N_("Dish")),
                t(N_("Variant")),
                t(N_("Destination")),
                t(N_("Portions")),
                t(N_("Forecast")),
            ],
            [
                [
                    line.dish.in_locale(locale),
                    variant_name(line.variant, locale),
                    destination_label(line.destination, locale),
                    line.portions,
                    line.forecast,
                ]
                for line in production.lines
            ],
            summaries=[
                Summary(
                    t(N_("Totals by dish and variant")),
                    [t(N_("Dish")), t(N_("Variant")), t(N_("Portions")), t(N_("Forecast"))],
                    [
                        [
                            total.dish.in_locale(locale),
                            variant_name(total.variant, locale),
                            total.portions,
                            total.forecast,
                        ]
                        for total in production.totals()
                    ],
                )
            ],
            heading=t(N_("By destination")),
        ),
        folder,
        service_date,
        formats=("csv", "pdf"),
    )
    files += write(
        Document(
            f"special-diets-{stem}",
            i18n.render(
                N_("Special diets and allergies: {kitchen}, {when}"),
                locale,
                {"kitchen": production.kitchen, "when": when},
            ),
            [state],
            [
                t(N_("Elder")),
                t(N_("Dish")),
                t(N_("Variant")),
                t(N_("Diet")),
                t(N_("Allergies")),
                t(N_("Destination")),
                t(N_("Portions")),
            ],
            [
                [
                    portion.elder,
                    portion.dish.in_locale(locale),
                    variant_name(portion.variant, locale),
                    ", ".join(i18n.display(DietTag(tag), locale) for tag in portion.diet_tags),
                    ", ".join(i18n.display(Allergen(a), locale) for a in portion.allergies),
                    portion.destination,
                    portion.portions,
                ]
                for portion in special_diets(
                    session=session, kitchen_id=kitchen_id, service_date=service_date, slot=slot
                )
            ],
        ),
        folder,
        service_date,
        formats=("csv", "pdf"),
    )
    files += write(
        Document(
            f"purchase-{stem}",
            i18n.render(
                N_("Purchase and prep list: {kitchen}, {when}"),
                locale,
                {"kitchen": production.kitchen, "when": when},
            ),
            [state],
            [t(N_("Ingredient")), t(N_("Quantity"))],
            [
                [line.ingredient.in_locale(locale), line.amount(locale)]
                for line in purchase_list(production, session=session)
            ],
        ),
        folder,
        service_date,
        formats=("csv", "pdf"),
    )
    packing = Document(
        f"packing-{stem}",
        i18n.render(
            N_("Packing lists: {kitchen}, {when}"),
            locale,
            {"kitchen": production.kitchen, "when": when},
        ),
        [t(N_("Pack in this order: the last stop's box first, the first stop's on top."))],
        [
            t(N_("Route")),
            t(N_("Stop")),
            t(N_("Elder")),
            t(N_("Dish")),
            t(N_("Variant")),
            t(N_("Portions")),
            t(N_("Warnings")),
        ],
    )
    for route in packing_lists(
        session=session, kitchen_id=kitchen_id, service_date=service_date, slot=slot
    ):
        packing.sections.append(
            (
                i18n.render(
                    N_("Route {route}: {rider}"),
                    locale,
                    {"route": route.route, "rider": route.rider},
                ),
                [
                    [
                        "" if route.route is None else route.route,
                        box.stop,
                        box.elder,
                        box.dish.in_locale(locale),
                        variant_name(box.variant, locale),
                        box.portions,
                        ", ".join(code_name(w, locale) for w in box.warnings),
                    ]
                    for box in route.boxes
                ],
            )
        )
    files += write(packing, folder, service_date, formats=("csv", "pdf"))
    labels = labels_for(
        session=session,
        kitchen_id=kitchen_id,
        service_date=service_date,
        slot=slot,
        locale=locale,
        base_url=base_url,
    )
    files.append(sheet_pdf(labels, folder / f"labels-a4-{stem}.pdf", locale))
    files.append(thermal_pdf(labels, folder / f"labels-thermal-{stem}.pdf", locale))
    files.append(
        kitchen_route_sheets(
            session=session,
            kitchen_id=kitchen_id,
            service_date=service_date,
            slot=slot,
            folder=folder,
            locale=locale,
            base_url=base_url,
            programme_phone=programme_phone,
            tz=tz,
        )
    )
    return files
