"""Production lists count the locked orders exactly; before cutoff they forecast standing
orders; special diets, purchase quantities and labels carry the right details."""

from datetime import date, time

import pypdf
import pytest

from core.cutoff import run_cutoff
from core.models import Site
from core.orders import cancel_order, place_order
from core.schemas import MealSlotCreate
from core.standing import create_standing_order
from core.types import ServiceMode, SiteKind, Slot, Texture
from kitchen.exports import kitchen_files
from kitchen.models import Ingredient, RecipeLine, UnitKind
from kitchen.service import production_list, purchase_list, special_diets, to_milli
from tests.conftest import SHANGHAI
from tests.factories import CUTOFF_LIMITS, ORDER_LIMITS, SETTINGS

PROGRAMME_PHONE = "020-8888 0000"  # the programme's number, as the surfaces pass it

DAY = date(2026, 11, 25)


@pytest.fixture
def kitchen(make, session):
    """A central kitchen delivering to one community and cooking for one canteen there."""
    community = make.community()
    kitchen = make.site(
        serves=[community],
        kind=SiteKind.central_kitchen,
        offers_pickup=False,
        offers_dine_in=False,
        slots=[
            MealSlotCreate(
                slot=Slot.lunch,
                cutoff_time=time(9, 0),
                delivery_start=time(11, 0),
                delivery_end=time(12, 30),
            )
        ],
    )
    kitchen.kitchen_id = kitchen.id
    canteen = make.site(serves=[community], kitchen_id=kitchen.id, offers_delivery=False)
    fish, tofu = make.dish(allergens=["fish"], name_en="Fish set"), make.dish(name_en="Tofu set")
    for site in (kitchen, canteen):
        make.menu(site, [fish, tofu], DAY)
    return kitchen, canteen, community, fish, tofu


def order(make, elder, site, dish, variant="regular", mode=None, quantity=1):
    return place_order(
        session=make.session,
        clock=make.clock,
        elder_id=elder.id,
        site_id=site.id,
        service_date=DAY,
        slot=Slot.lunch,
        dish_id=dish.id,
        variant=variant,
        quantity=quantity,
        mode=mode,
        idempotency_key=f"k-{elder.id}",
        **ORDER_LIMITS,
    )


def lock(make, *sites):
    for site in sites:
        run_cutoff(
            session=make.session,
            clock=make.clock,
            site_id=site.id,
            service_date=DAY,
            slot=Slot.lunch,
            early=True,
            **CUTOFF_LIMITS,
        )


def test_counts_equal_the_locked_orders_by_dish_variant_and_destination(make, kitchen, session):
    kitchen_site, canteen, community, fish, tofu = kitchen
    elders = [make.elder(community) for _ in range(5)]
    order(make, elders[0], kitchen_site, fish, quantity=2)
    order(make, elders[1], kitchen_site, fish, variant="soft")
    order(make, elders[2], canteen, fish, mode=ServiceMode.dine_in)
    order(make, elders[3], canteen, tofu, mode=ServiceMode.pickup)
    dropped = order(make, elders[4], kitchen_site, tofu)
    cancel_order(
        session=session,
        clock=make.clock,
        order_id=dropped.id,
        programme_phone=SETTINGS.programme_phone,
    )
    lock(make, kitchen_site, canteen)
    production = production_list(
        session=session, kitchen_id=kitchen_site.id, service_date=DAY, slot=Slot.lunch
    )
    assert production.final and production.forecast == 0
    counted = {
        (line.dish_id, line.variant, line.destination.site_id, line.destination.mode): line.portions
        for line in production.lines
    }
    assert counted == {
        (fish.id, "regular", kitchen_site.id, "delivery"): 2,
        (fish.id, "soft", kitchen_site.id, "delivery"): 1,
        (fish.id, "regular", canteen.id, "dine_in"): 1,
        (tofu.id, "regular", canteen.id, "pickup"): 1,
    }


def test_before_cutoff_the_list_is_live_and_forecasts_standing_orders(make, kitchen, session):
    kitchen_site, canteen, community, fish, _ = kitchen
    regular, soft = make.elder(community), make.elder(community, texture=Texture.soft)
    order(make, regular, kitchen_site, fish)
    create_standing_order(
        session=session,
        clock=make.clock,
        elder_id=soft.id,
        site_id=kitchen_site.id,
        slot=Slot.lunch,
        weekdays=[3],
        start_date=DAY,
        max_order_quantity=SETTINGS.max_order_quantity,
    )
    before = production_list(
        session=session, kitchen_id=kitchen_site.id, service_date=DAY, slot=Slot.lunch
    )
    assert not before.final and (before.portions, before.forecast) == (1, 1)
    assert {(line.variant, line.portions, line.forecast) for line in before.lines} == {
        ("regular", 1, 0),
        ("soft", 0, 1),
    }
    lock(make, kitchen_site, canteen)
    after = production_list(
        session=session, kitchen_id=kitchen_site.id, service_date=DAY, slot=Slot.lunch
    )
    assert after.final and (after.portions, after.forecast) == (2, 0)


def test_special_diets_name_the_elders_and_carry_variant_and_allergies(make, kitchen, session):
    kitchen_site, _, community, fish, tofu = kitchen
    order(make, make.elder(community, name="王小明"), kitchen_site, fish)
    order(
        make,
        make.elder(community, name="李软食", texture=Texture.minced),
        kitchen_site,
        fish,
        variant="minced",
    )
    order(make, make.elder(community, name="张过敏", allergies=["egg"]), kitchen_site, tofu)
    special = {
        p.elder: (p.variant, p.allergies)
        for p in special_diets(
            session=session, kitchen_id=kitchen_site.id, service_date=DAY, slot=Slot.lunch
        )
    }
    assert special == {"李软食": ("minced", ()), "张过敏": ("regular", ("egg",))}


def test_the_purchase_list_sums_recipes_with_unit_conversion(make, kitchen, session):
    kitchen_site, _, community, fish, tofu = kitchen
    rice = Ingredient(code="rice", name_zh="大米", name_en="rice", kind=UnitKind.mass)
    oil = Ingredient(code="oil", name_zh="油", name_en="oil", kind=UnitKind.volume)
    egg = Ingredient(code="egg", name_zh="鸡蛋", name_en="egg", kind=UnitKind.count)
    session.add_all([rice, oil, egg])
    session.flush()
    for dish, ingredient, amount, unit in (
        (fish, rice, "0.15", "kg"),
        (tofu, rice, "150", "g"),
        (fish, oil, "10", "ml"),
        (tofu, egg, "0.5", "piece"),
    ):
        session.add(
            RecipeLine(
                dish_id=dish.id,
                ingredient_id=ingredient.id,
                milli_per_portion=to_milli(amount, unit, ingredient.kind),
            )
        )
    for index in range(7):
        order(make, make.elder(community), kitchen_site, fish if index < 4 else tofu)
    production = production_list(
        session=session, kitchen_id=kitchen_site.id, service_date=DAY, slot=Slot.lunch
    )
    amounts = {
        line.ingredient.en: line.amount("en") for line in purchase_list(production, session=session)
    }
    assert amounts == {"rice": "1.05 kg", "oil": "40 ml", "egg": "1.5 pcs"}
    chinese = {
        line.ingredient.zh: line.amount("zh_CN")
        for line in purchase_list(production, session=session)
    }
    assert chinese["鸡蛋"] == "1.5 个"
    with pytest.raises(ValueError):
        to_milli("2", "l", UnitKind.mass)
    with pytest.raises(ValueError):
        to_milli("0.0001", "g", UnitKind.mass)


def test_labels_carry_name_address_dish_variant_allergens_and_a_stop_link(
    make, kitchen, session, tmp_path
):
    kitchen_site, _, community, fish, _ = kitchen
    elder = make.elder(
        community, name="陈淑珍", address="越秀区北京路88号3栋201", texture=Texture.soft
    )
    placed = order(make, elder, kitchen_site, fish, variant="soft")
    files = kitchen_files(
        session=session,
        kitchen_id=kitchen_site.id,
        service_date=DAY,
        slot=Slot.lunch,
        folder=tmp_path,
        locale="zh_CN",
        base_url="https://meals.example.org",
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )
    for kind in ("labels-a4", "labels-thermal"):
        path = next(p for p in files if p.name.startswith(kind))
        text = pypdf.PdfReader(path).pages[0].extract_text()
        for expected in (
            "陈淑珍",
            "越秀区北京路88号3栋201",
            fish.name_zh,
            "软食",
            "鱼",
            f"#{placed.id}",
        ):
            assert expected in text, (kind, expected, text)
    production = next(p for p in files if p.name.startswith("production") and p.suffix == ".csv")
    assert fish.name_zh in production.read_text(encoding="utf-8-sig")


def test_a_site_that_is_not_a_kitchen_is_refused(make, kitchen, session):
    from core.errors import SiteNotFound

    _, canteen, _, _, _ = kitchen
    assert isinstance(session.get(Site, canteen.id), Site)
    with pytest.raises(SiteNotFound):
        production_list(session=session, kitchen_id=canteen.id, service_date=DAY, slot=Slot.lunch)


def pdf_lines(path) -> list[str]:
    """The PDF's text, one table cell or line of text per item."""
    text = "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_the_production_pdf_totals_each_dish_and_variant_above_the_rows_per_destination(
    make, kitchen, session, tmp_path
):
    """The cooks cook to the totals; the rows per destination are for dividing the pans."""
    kitchen_site, canteen, community, fish, tofu = kitchen
    elders = [make.elder(community) for _ in range(5)]
    order(make, elders[0], kitchen_site, fish, quantity=2)
    order(make, elders[1], kitchen_site, fish, variant="soft")
    order(make, elders[2], canteen, fish, mode=ServiceMode.dine_in)
    order(make, elders[3], canteen, fish, mode=ServiceMode.pickup, quantity=3)
    order(make, elders[4], canteen, tofu, mode=ServiceMode.pickup)
    lock(make, kitchen_site, canteen)
    files = kitchen_files(
        session=session,
        kitchen_id=kitchen_site.id,
        service_date=DAY,
        slot=Slot.lunch,
        folder=tmp_path,
        locale="zh_CN",
        base_url="https://meals.example.org",
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )
    lines = pdf_lines(
        next(p for p in files if p.name.startswith("production-") and p.suffix == ".pdf")
    )
    totals, by_destination = lines.index("按菜品和做法合计"), lines.index("按去向")
    assert totals < by_destination
    # Header, then dish, variant, portions, forecast per row.
    assert lines[totals + 1 : by_destination] == [
        "菜品", "做法", "份数", "预计",
        fish.name_zh, "普通", "6", "0",
        fish.name_zh, "软食", "1", "0",
        tofu.name_zh, "普通", "1", "0",
    ]  # fmt: skip
    # The rows per destination are still there, each with its own count.
    rows = lines[by_destination:]
    assert rows.count(fish.name_zh) == 4 and rows.count(tofu.name_zh) == 1
    # The CSV stays one table, a row per destination, for spreadsheets.
    csv = next(p for p in files if p.name.startswith("production-") and p.suffix == ".csv")
    assert len(csv.read_text(encoding="utf-8-sig").splitlines()) == 1 + 5


@pytest.mark.parametrize(("locale", "heading"), [("zh_CN", "数量"), ("en", "Quantity")])
def test_the_purchase_lists_quantity_column_is_headed_quantity_not_money(
    make, kitchen, session, tmp_path, locale, heading
):
    kitchen_site, _, community, fish, _ = kitchen
    rice = Ingredient(code="rice", name_zh="大米", name_en="rice", kind=UnitKind.mass)
    session.add(rice)
    session.flush()
    session.add(
        RecipeLine(
            dish_id=fish.id,
            ingredient_id=rice.id,
            milli_per_portion=to_milli("150", "g", rice.kind),
        )
    )
    order(make, make.elder(community), kitchen_site, fish)
    files = kitchen_files(
        session=session,
        kitchen_id=kitchen_site.id,
        service_date=DAY,
        slot=Slot.lunch,
        folder=tmp_path,
        locale=locale,
        base_url="https://meals.example.org",
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )
    csv = next(p for p in files if p.name.startswith("purchase-") and p.suffix == ".csv")
    header = csv.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header == ["食材" if locale == "zh_CN" else "Ingredient", heading]
    pdf = pdf_lines(next(p for p in files if p.name.startswith("purchase-") and p.suffix == ".pdf"))
    assert heading in pdf and "金额" not in pdf and "Amount" not in pdf
