"""A programme's set-up as one file: exported from one installation and imported into another,
names by code, not ids; nothing of the elders; a second import adds nothing; a bad file or
entry is refused, translated, with nothing written."""

import copy
import json
import random
from datetime import date, datetime, time, timedelta

import pytest
from sqlmodel import col, func, select

from billing.models import Fund, FundBudget, Funder, SubsidyRule
from core.clock import FixedClock
from core.models import (
    Community,
    CommunityWorker,
    Dish,
    Elder,
    MealSlot,
    Menu,
    Rider,
    Site,
    StandingOrder,
)
from core.schemas import DishCreate, DishVariant, MenuItemCreate
from core.types import SiteKind, Slot
from kitchen.models import Ingredient, RecipeLine, UnitKind
from kitchen.service import to_milli
from mealaid import citydata
from mealaid.demo import city_setup
from tests.conftest import SHANGHAI, fresh_database, row_counts
from tests.factories import SETTINGS, Factory, PolicyFactory
from usecases import menus, programme, setup

ADMIN = "staff:admin"


def _first_programme(make: Factory) -> dict:
    """A kitchen and a canteen for two communities (one in another district), a rider, a
    worker, a dish, an elder, a funder of a district with a fund, a budget and a rule."""
    session = make.session
    yuexiu = make.community(code="YX1", street="北京街", district="越秀区")
    haizhu = make.community(code="HZ1", street="北京街", district="海珠区")
    kitchen = make.site(serves=[yuexiu, haizhu], code="K1", kind=SiteKind.central_kitchen)
    kitchen.kitchen_id = kitchen.id
    canteen = make.site(serves=[yuexiu], code="C1", kitchen_id=kitchen.id)
    setup.create_rider(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        rider_in={
            "name": "陈师傅",
            "phone": "13900000001",
            "kitchen_id": kitchen.id,
            "shift_start": "10:30",
            "shift_end": "13:00",
        },
    )
    setup.create_worker(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        worker_in={
            "community_id": haizhu.id,
            "community_ids": [yuexiu.id],
            "name": "王社工",
            "phone": "13600000001",
        },
    )
    make.dish(code="D-RICE", name_zh="叉烧饭", name_en="Char siu rice", allergens=["soy"])
    make.elder(yuexiu, categories=["tekun"])
    policy = PolicyFactory(session)
    funder = policy.funder(
        code="GOV-YX",
        layer="district",
        district="越秀区",
        district_id=yuexiu.district_id,
    )
    fund = policy.fund(funder, 500_000, period="month")
    session.add(FundBudget(fund_id=fund.id, period="2026-12", budget_fen=600_000, committed_fen=1))
    policy.rule(funder, fund_id=fund.id, site_ids=[canteen.id], categories=["tekun"])
    policy.policy(elder_min_payment_fen=100)
    session.flush()
    return programme.export_setup(session=session, clock=make.clock, actor=ADMIN)


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_a_second_district_starts_from_the_first_ones_file(empty_database, tmp_path):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        document = _first_programme(Factory(session, clock))
    data = json.dumps(document, ensure_ascii=False)
    assert "叉烧饭" in data
    assert "elders" not in document
    other, drop = fresh_database(empty_database.engine.dialect.name, tmp_path)
    try:
        with other.transaction() as session:
            imported = programme.import_setup(
                session=session,
                clock=clock,
                settings=SETTINGS,
                actor=ADMIN,
                document=programme.read_setup_file(data.encode()),
            )
        assert imported.added == {
            "communities": 2,
            "sites": 2,
            "riders": 1,
            "workers": 1,
            "dishes": 1,
            "funders": 1,
            "funds": 1,
            "fund_budgets": 1,
            "rules": 1,
            "billing_policies": 1,
        }
        with other.reading() as session:
            assert _count(session, Elder) == 0
            communities = {c.code: c for c in session.exec(select(Community))}
            assert communities["YX1"].street_id != communities["HZ1"].street_id
            sites = {s.code: s for s in session.exec(select(Site))}
            assert sites["K1"].kitchen_id == sites["K1"].id
            assert sites["C1"].kitchen_id == sites["K1"].id
            assert _count(session, MealSlot) == 4
            rider = session.exec(select(Rider)).one()
            assert (rider.kitchen_id, rider.shift_start) == (sites["K1"].id, time(10, 30))
            worker = session.exec(select(CommunityWorker)).one()
            assert worker.community_id == communities["HZ1"].id
            assert setup.worker_communities(session=session, worker_id=worker.id) == sorted(
                [communities["HZ1"].id, communities["YX1"].id]
            )
            assert session.exec(select(Dish)).one().allergens == ["soy"]
            funder = session.exec(select(Funder)).one()
            assert funder.district_id == communities["YX1"].district_id
            fund = session.exec(select(Fund)).one()
            budget = session.exec(select(FundBudget)).one()
            assert (budget.fund_id, budget.budget_fen, budget.committed_fen) == (
                fund.id,
                600_000,
                0,
            )
            rule = session.exec(select(SubsidyRule)).one()
            assert (rule.funder_id, rule.fund_id, rule.site_ids) == (
                funder.id,
                fund.id,
                [sites["C1"].id],
            )
        with other.transaction() as session:
            again = programme.import_setup(
                session=session, clock=clock, settings=SETTINGS, actor=ADMIN, document=document
            )
        assert again.added == {}
        assert again.kept == imported.added
    finally:
        drop()


def test_a_file_that_is_not_a_set_up_is_refused_in_both_languages(session, make):
    with pytest.raises(programme.SetupFileInvalid) as refused:
        programme.read_setup_file(b"\xff\xfe not json")
    assert refused.value.render("zh_CN") != refused.value.render("en")
    with pytest.raises(programme.SetupFileInvalid):
        programme.import_setup(
            session=session,
            clock=make.clock,
            settings=SETTINGS,
            actor=ADMIN,
            document={"communities": []},
        )


def test_a_bad_entry_is_named_by_section_and_number_and_nothing_is_written(session, make):
    counts = row_counts(session)
    document = {
        "format": "mealaid-setup",
        "version": 1,
        "communities": [
            {
                "code": "A1",
                "name": "甲社区",
                "street": "北京街",
                "district": "越秀区",
                "city": "广州市",
                "lat": 23.1,
                "lon": 113.2,
            }
        ],
        "sites": [
            {
                "code": "S1",
                "name": "饭堂",
                "kind": "canteen",
                "address": "北京路1号",
                "lat": 23.1,
                "lon": 113.2,
                "community": "NOWHERE",
                "phone": "020-1234 5678",
            }
        ],
    }
    with pytest.raises(programme.SetupEntryInvalid) as refused, session.begin_nested():
        programme.import_setup(
            session=session, clock=make.clock, settings=SETTINGS, actor=ADMIN, document=document
        )
    assert "NOWHERE" in refused.value.render("en")
    assert "1" in refused.value.render("zh_CN")
    assert refused.value.render("zh_CN") != refused.value.render("en")
    assert row_counts(session) == counts


def test_the_elders_go_along_only_when_asked_and_without_their_id_numbers(empty_database, tmp_path):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        _first_programme(make)
        document = programme.export_setup(
            session=session, clock=clock, actor=ADMIN, with_elders=True
        )
        elder = session.exec(select(Elder)).one()
        shown = (elder.name, elder.phone, elder.birth_date)
    [entry] = document["elders"]
    assert entry["community"] == "YX1" and "id_number" not in entry
    assert entry["categories"]
    other, drop = fresh_database(empty_database.engine.dialect.name, tmp_path)
    try:
        with other.transaction() as session:
            imported = programme.import_setup(
                session=session, clock=clock, settings=SETTINGS, actor=ADMIN, document=document
            )
        assert imported.added["elders"] == 1
        with other.reading() as session:
            copied = session.exec(select(Elder)).one()
            assert (copied.name, copied.phone, copied.birth_date) == shown
            community = session.get(Community, copied.community_id)
            assert community.code == "YX1"
        with other.transaction() as session:
            again = programme.import_setup(
                session=session, clock=clock, settings=SETTINGS, actor=ADMIN, document=document
            )
        assert again.kept["elders"] == 1 and "elders" not in again.added
    finally:
        drop()


# -- dishes' recipes, menus from today on, elders' standing orders --------------------------------

DAY = date(2026, 11, 25)  # a Wednesday: the clock's day


def _demo_like(make: Factory) -> None:
    """The demo district, smaller: its communities, kitchens and canteens with their meals,
    riders and workers (mealaid.demo.city_setup), six of its dishes in every variant with
    their recipes, menus from three days before the day to three after, a policy, and elders
    with standing orders (one ended yesterday and one stopped: neither goes in the file)."""
    session, clock = make.session, make.clock
    document = city_setup(random.Random(7))
    programme.import_setup(
        session=session, clock=clock, settings=SETTINGS, actor=ADMIN, document=document
    )
    sites = {s.code: s for s in session.exec(select(Site).order_by(col(Site.id)))}
    variants = [
        DishVariant(code=code, texture=texture, diet_tags=tags)
        for code, (texture, tags, _) in citydata.VARIANTS.items()
    ]
    dishes = [
        menus.create_dish(
            session=session,
            clock=clock,
            actor=ADMIN,
            dish_in=DishCreate(
                code=code, name_zh=zh, name_en=en, allergens=allergens, variants=variants
            ),
        )
        for code, (zh, en, allergens) in list(citydata.DISHES.items())[:6]
    ]
    ingredients = {}
    for code, (zh, en, kind) in citydata.INGREDIENTS.items():
        ingredients[code] = Ingredient(code=code, name_zh=zh, name_en=en, kind=kind)
        session.add(ingredients[code])
    session.flush()
    for dish in dishes:
        for code, amount, unit in citydata.RECIPE_BASE + citydata.RECIPE_MAIN[dish.code]:
            kind = UnitKind(ingredients[code].kind)
            session.add(
                RecipeLine(
                    dish_id=dish.id,
                    ingredient_id=ingredients[code].id,
                    milli_per_portion=to_milli(amount, unit, kind),
                )
            )
    served = {(m.site_id, m.slot) for m in session.exec(select(MealSlot))}
    for offset in range(-3, 4):
        for n, slot in enumerate((Slot.lunch, Slot.dinner)):
            todays = [dishes[(offset + 3 * n + k) % len(dishes)] for k in range(2)]
            items = [
                MenuItemCreate(
                    dish_id=dish.id,
                    variant=variant,
                    texture=texture,
                    diet_tags=tags,
                    price_fen=1500 + extra,
                    position=position,
                )
                for position, dish in enumerate(todays)
                for variant, (texture, tags, extra) in citydata.VARIANTS.items()
            ]
            for site in sites.values():
                if (site.id, slot) in served:
                    menus.publish_menu(
                        session=session,
                        clock=clock,
                        actor=ADMIN,
                        site_id=site.id,
                        service_date=DAY + timedelta(days=offset),
                        slot=slot,
                        items=items,
                    )
    policy = PolicyFactory(session)
    city = policy.funder(code="GZ-CITY")
    fund = policy.fund(city, 500_000, period="month")
    policy.rule(city, fund_id=fund.id, site_ids=[sites["C1"].id], categories=["dibao"])
    policy.policy(elder_min_payment_fen=100)
    # Elders where the first canteen and its kitchen serve, with standing orders.
    canteen = sites["C1"]
    kitchen = sites[next(s["kitchen"] for s in document["sites"] if s["code"] == "C1")]
    home = session.get(Community, canteen.community_id)
    wang, li, zhang = (make.elder(home, name=name) for name in ("王秀英", "李阿婆", "张伯"))
    make.elder(home, name="陈婆婆")  # no standing order

    def standing(elder, site, **values) -> StandingOrder:
        row = StandingOrder(
            **{
                "elder_id": elder.id,
                "site_id": site.id,
                "slot": "lunch",
                "weekdays": [1, 2, 3, 4, 5],
                "mode": "delivery",
                "start_date": DAY - timedelta(days=30),
                "created_at": clock.now(),
                **values,
            }
        )
        session.add(row)
        return row

    standing(wang, kitchen)
    standing(
        wang,
        canteen,
        weekdays=[6, 7],
        mode="pickup",
        variant="soft",
        quantity=2,
        end_date=DAY + timedelta(days=20),
    )
    standing(li, kitchen, end_date=DAY - timedelta(days=1))  # over: not in the file
    standing(zhang, kitchen, active=False)  # stopped: not in the file
    session.flush()


def test_the_demo_like_programme_goes_whole_to_an_empty_one_and_comes_back_the_same(
    empty_database, tmp_path
):
    """Its dishes with their variants and recipes, its menus from today on and the elders'
    standing orders go along; imported into an empty programme and exported again, the file
    is the same byte for byte; imported a second time, nothing changes."""
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        _demo_like(Factory(session, clock))
        first = programme.export_json(session=session, clock=clock, actor=ADMIN, with_elders=True)
        menus_from_today = _count_where(session, Menu, col(Menu.service_date) >= DAY)
        recipe_lines = _count(session, RecipeLine)
    document = json.loads(first)
    assert sorted({m["service_date"] for m in document["menus"]}) == [
        (DAY + timedelta(days=n)).isoformat() for n in range(4)
    ]
    assert len(document["menus"]) == menus_from_today
    assert {item["dish"] for menu in document["menus"] for item in menu["items"]} <= {
        d["code"] for d in document["dishes"]
    }
    assert len(document["recipes"]) == recipe_lines and len(document["ingredients"]) == 12
    assert all(len(d["variants"]) == 6 for d in document["dishes"])
    standing = {e["name"]: e["standing_orders"] for e in document["elders"]}
    assert [s["weekdays"] for s in standing["王秀英"]] == [[1, 2, 3, 4, 5], [6, 7]]
    assert standing["王秀英"][1]["variant"] == "soft" and standing["王秀英"][1]["quantity"] == 2
    assert standing["李阿婆"] == standing["张伯"] == standing["陈婆婆"] == []

    other, drop = fresh_database(empty_database.engine.dialect.name, tmp_path)
    try:
        with other.transaction() as session:
            imported = programme.import_setup(
                session=session,
                clock=clock,
                settings=SETTINGS,
                actor=ADMIN,
                document=programme.read_setup_file(first),
            )
        assert imported.added["ingredients"] == 12
        assert imported.added["recipes"] == recipe_lines
        assert imported.added["menus"] == menus_from_today
        assert imported.added["standing_orders"] == 2
        with other.transaction() as session:
            second = programme.export_json(
                session=session, clock=clock, actor=ADMIN, with_elders=True
            )
        assert second == first
        with other.reading() as session:
            before = row_counts(session)
        with other.transaction() as session:
            again = programme.import_setup(
                session=session,
                clock=clock,
                settings=SETTINGS,
                actor=ADMIN,
                document=json.loads(second),
            )
        assert again.added == {}
        assert again.kept == imported.added
        with other.reading() as session:
            # Nothing changed but the import's own entry in the audit log.
            assert row_counts(session) == {**before, "audit_entry": before["audit_entry"] + 1}
    finally:
        drop()


def _count_where(session, model, *conditions) -> int:
    return session.exec(select(func.count()).select_from(model).where(*conditions)).one()


@pytest.fixture
def small_file(session, make) -> dict:
    """A programme's file (a canteen, a dish in two variants with its recipe, today's lunch
    menu, an elder with a standing order), written and then taken away again: importing it
    into the same session adds everything."""
    made = session.begin_nested()
    community = make.community(code="YX1")
    canteen = make.site(serves=[community], code="C1")
    dish = menus.create_dish(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        dish_in=DishCreate(
            code="D-EGG",
            name_zh="番茄炒蛋",
            name_en="Tomato and egg",
            variants=[DishVariant(code="regular"), DishVariant(code="soft", texture="soft")],
        ),
    )
    egg = Ingredient(code="egg", name_zh="鸡蛋", name_en="eggs", kind="count")
    session.add(egg)
    session.flush()
    session.add(RecipeLine(dish_id=dish.id, ingredient_id=egg.id, milli_per_portion=2000))
    make.menu(canteen, [dish], DAY, variants=("regular", "soft"))
    elder = make.elder(community)
    session.add(
        StandingOrder(
            elder_id=elder.id,
            site_id=canteen.id,
            slot="lunch",
            weekdays=[1, 3, 5],
            mode="delivery",
            start_date=DAY,
            created_at=make.clock.now(),
        )
    )
    session.flush()
    document = programme.export_setup(
        session=session, clock=make.clock, actor=ADMIN, with_elders=True
    )
    made.rollback()
    return document


BAD_ENTRIES = {
    "a menu offering a variant its dish is not cooked in": (
        lambda d: d["menus"][0]["items"][1].update(variant="pureed"),
        "menus",
        "pureed",
    ),
    "a menu offering one variant of a dish twice": (
        lambda d: d["menus"][0]["items"].append(dict(d["menus"][0]["items"][0], price_fen=1)),
        "menus",
        "番茄炒蛋 · regular",
    ),
    "a menu naming a dish nobody has": (
        lambda d: d["menus"][0]["items"][0].update(dish="D-NONE"),
        "menus",
        "D-NONE",
    ),
    "a menu of a meal its site does not serve": (
        lambda d: d["menus"][0].update(slot="breakfast"),
        "menus",
        "breakfast",
    ),
    "a recipe line of no quantity": (
        lambda d: d["recipes"][0].update(milli_per_portion=0),
        "recipes",
        "quantity per portion",
    ),
    "a recipe naming an ingredient nobody has": (
        lambda d: d["recipes"][0].update(ingredient="saffron"),
        "recipes",
        "saffron",
    ),
    "an ingredient counted in buckets": (
        lambda d: d["ingredients"][0].update(kind="bucket"),
        "ingredients",
        "kind",
    ),
    "a standing order on the eighth day of the week": (
        lambda d: d["elders"][0]["standing_orders"][0].update(weekdays=[1, 8]),
        "elders",
        "weekdays",
    ),
    "a standing order at a site nobody has": (
        lambda d: d["elders"][0]["standing_orders"][0].update(site="C-NONE"),
        "elders",
        "C-NONE",
    ),
}
SECTION_NAMES = {
    "menus": ("menus", "菜单"),
    "recipes": ("recipes", "菜谱"),
    "ingredients": ("ingredients", "食材"),
    "elders": ("elders", "长者"),
}


@pytest.mark.parametrize("case", BAD_ENTRIES)
def test_a_bad_menu_recipe_or_standing_order_is_named_and_nothing_is_written(
    case, small_file, session, make
):
    spoil, section, detail = BAD_ENTRIES[case]
    document = copy.deepcopy(small_file)
    spoil(document)
    counts = row_counts(session)
    with pytest.raises(programme.SetupEntryInvalid) as refused, session.begin_nested():
        programme.import_setup(
            session=session, clock=make.clock, settings=SETTINGS, actor=ADMIN, document=document
        )
    english, chinese = refused.value.render("en"), refused.value.render("zh_CN")
    assert f"In the file's {SECTION_NAMES[section][0]}, entry 1:" in english
    assert SECTION_NAMES[section][1] in chinese
    assert detail in english, english
    assert "not an entry of the right shape" not in english  # said what is wrong with it
    assert row_counts(session) == counts


def test_a_dish_this_programme_has_keeps_its_own_recipe_and_an_elder_her_standing_orders(
    small_file, session, make
):
    """What is here is kept as it is: a dish's recipe is the kitchen's own, an elder's
    standing orders her own; a menu already set for that site, day and meal is kept too."""
    first = programme.import_setup(
        session=session, clock=make.clock, settings=SETTINGS, actor=ADMIN, document=small_file
    )
    assert first.added["recipes"] == 1 and first.added["standing_orders"] == 1
    assert first.added["menus"] == 1 and first.added["ingredients"] == 1
    counts = row_counts(session)
    changed = copy.deepcopy(small_file)
    changed["recipes"][0]["milli_per_portion"] = 3000
    changed["menus"][0]["items"][0]["price_fen"] = 1
    changed["elders"][0]["standing_orders"][0]["weekdays"] = [2]
    again = programme.import_setup(
        session=session, clock=make.clock, settings=SETTINGS, actor=ADMIN, document=changed
    )
    assert again.added == {}
    assert again.kept["recipes"] == 1 and again.kept["standing_orders"] == 1
    assert row_counts(session) == counts
    assert session.exec(select(RecipeLine)).one().milli_per_portion == 2000


def test_an_ingredient_counted_otherwise_here_is_refused_for_its_recipes_would_disagree(
    small_file, session, make
):
    session.add(Ingredient(code="egg", name_zh="鸡蛋", name_en="eggs", kind="mass"))
    session.flush()
    counts = row_counts(session)
    with pytest.raises(programme.SetupEntryInvalid) as refused, session.begin_nested():
        programme.import_setup(
            session=session, clock=make.clock, settings=SETTINGS, actor=ADMIN, document=small_file
        )
    assert "by the piece" in refused.value.render("en")
    assert "by weight" in refused.value.render("en")
    assert row_counts(session) == counts
