"""The demo city: a seeded, reproducible Yuexiu district with kitchens, canteens, elders, menus,
riders and standing orders, and one whole day of the programme run through the services."""

import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from billing.models import Funder
from core.clock import FixedClock
from core.db import Database
from core.diet import profile_of_elder

# A pause that began yesterday is the city's history: no use case makes one (they start today).
from core.elders import pause_elder
from core.errors import DomainError
from core.models import Community, Elder, Order, Rider, Site, saved
from core.schemas import (
    CategoryGrant,
    DishCreate,
    DishVariant,
    ElderCreate,
    EmergencyContactCreate,
    MenuItemCreate,
)
from core.settings import Settings
from core.types import (
    Category,
    LinkRelation,
    OrderSource,
    OrderStatus,
    ServiceMode,
    SiteKind,
    Slot,
    Texture,
)
from kitchen.models import Ingredient, RecipeLine, UnitKind
from kitchen.service import to_milli
from mealaid import citydata
from routing.records import RouteStop
from usecases import counter, elders, policy, programme
from usecases.elders import chat_user_for
from usecases.menus import create_dish, menu_choices, publish_menu, suitable_choices
from usecases.ordering import (
    cancel_order,
    change_order,
    create_standing_order,
    due_cutoffs,
    pause_standing_order,
    place_order,
    record_outcome,
    run_cutoff,
)
from usecases.routing import SolveParams, plan_kitchen
from usecases.setup import list_districts

ELDERS = 640  # the demo city's elders; `mealaid demo --elders N` registers fewer (or more)
PLAN_SECONDS = 3.0  # search time per kitchen and meal: enough for a district's demo day
RIDERS_PER_KITCHEN = 14
MENU_DAYS_BEFORE, MENU_DAYS_AFTER = 6, 7  # 14 days of menus around the demo day
LUNCH_PRICE, DINNER_PRICE = 1500, 1200

Progress = Callable[[str, int], Callable[[], None]]


def _no_progress(_label: str, _total: int) -> Callable[[], None]:
    return lambda: None


@dataclass
class City:
    kitchens: list[Site] = field(default_factory=list)
    canteens: list[Site] = field(default_factory=list)
    elders: list[Elder] = field(default_factory=list)
    dishes: int = 0
    menus: int = 0
    riders: int = 0
    standing_orders: int = 0
    chat_users: int = 0
    site_for: dict[tuple[int, str], int] = field(default_factory=dict)  # (elder, mode) -> site


@dataclass
class DaySummary:
    service_date: date
    placed: Counter = field(default_factory=Counter)  # source -> orders
    refused: Counter = field(default_factory=Counter)  # error code -> count
    refusal_examples: dict[str, DomainError] = field(default_factory=dict)
    cancelled: int = 0
    changed: int = 0
    cutoffs: list = field(default_factory=list)
    routes: list = field(default_factory=list)
    final: list[Order] = field(default_factory=list)

    def refuse(self, refusal: DomainError) -> None:
        self.refused[refusal.code] += 1
        self.refusal_examples.setdefault(refusal.code, refusal)


def _offset(rng: random.Random, lat: float, lon: float, metres: float) -> tuple[float, float]:
    """A point scattered around (lat, lon), about `metres` away on average."""
    dy, dx = rng.gauss(0, metres), rng.gauss(0, metres)
    return (
        round(lat + dy / 111_320, 6),
        round(lon + dx / (111_320 * math.cos(math.radians(lat))), 6),
    )


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        number = (
            rng.choice(["138", "139", "135", "137", "186", "189"]) + f"{rng.randrange(10**8):08d}"
        )
        if number not in used:
            used.add(number)
            return number


def _age(rng: random.Random) -> int:
    return min(100, max(60, round(rng.triangular(60, 100, 76))))


# Who the audit log names for the demo city's set-up (its dishes and menus).
SETUP_ACTOR = "demo-setup"
CANTEEN_ACTOR = "demo-canteen"  # the canteens' counter staff


def _meals(meals: list[tuple[str, str, str, str]]) -> list[dict[str, str]]:
    return [
        {"slot": slot, "cutoff_time": cutoff, "delivery_start": start, "delivery_end": end}
        for slot, cutoff, start, end in meals
    ]


def city_setup(rng: random.Random) -> dict:
    """The demo district as a set-up file holds it (usecases.programme): each street's
    communities around its centre, the kitchens and the street canteens with their meals, each
    kitchen's riders and each community's worker."""
    communities = []
    for street, (lat, lon, _roads, names) in citydata.STREETS.items():
        for index, name in enumerate(names):
            clat, clon = _offset(rng, lat, lon, 350)
            communities.append(
                {
                    "code": f"YX-{street[:2]}-{index + 1}",
                    "name": f"{name}社区",
                    "street": street,
                    "district": citydata.DISTRICT,
                    "city": citydata.CITY,
                    "lat": clat,
                    "lon": clon,
                }
            )
    codes: dict[str, list[str]] = {}
    for entry in communities:
        codes.setdefault(entry["street"], []).append(entry["code"])
    sites = []
    kitchen_of_street = {}
    for number, (name, (street, lat, lon, streets)) in enumerate(citydata.KITCHENS.items(), 1):
        sites.append(
            {
                "code": f"K{number}",
                "name": name,
                "kind": "central_kitchen",
                "address": f"{citydata.DISTRICT}{citydata.STREETS[street][2][0]}"
                f"{100 + number * 7}号",
                "lat": lat,
                "lon": lon,
                "community": codes[street][0],
                "phone": citydata.KITCHEN_PHONE.format(number=number),
                "kitchen": f"K{number}",
                "offers_delivery": True,
                "serves": [code for s in streets for code in codes[s]],
                "slots": _meals(citydata.KITCHEN_MEALS),
            }
        )
        kitchen_of_street.update(dict.fromkeys(streets, f"K{number}"))
    for number, (street, (lat, lon, roads, _names)) in enumerate(citydata.STREETS.items(), 1):
        slat, slon = _offset(rng, lat, lon, 120)
        meals = citydata.CANTEEN_MEALS + ([citydata.CANTEEN_DINNER] if number % 2 == 0 else [])
        sites.append(
            {
                "code": f"C{number}",
                "name": f"{street}长者饭堂",
                "kind": "canteen",
                "address": f"{roads[1]}{rng.randrange(10, 300)}号首层",
                "lat": slat,
                "lon": slon,
                "community": codes[street][0],
                "phone": citydata.CANTEEN_PHONE.format(number=number),
                "kitchen": kitchen_of_street[street],
                "offers_pickup": True,
                "offers_dine_in": True,
                "serves": codes[street],
                "slots": _meals(meals),
            }
        )
    riders = []
    for number in range(1, len(citydata.KITCHENS) + 1):
        for _ in range(RIDERS_PER_KITCHEN):
            surname = rng.choice(citydata.SURNAMES)
            riders.append(
                {
                    "name": surname + rng.choice(citydata.GIVEN_MALE + citydata.CHILD_GIVEN),
                    "phone": _phone(rng, set()),
                    "kitchen": f"K{number}",
                    "mode": citydata.RIDER_MODE,
                    "capacity": rng.choice(citydata.RIDER_CAPACITIES),
                    "shift_start": citydata.RIDER_SHIFT[0],
                    "shift_end": citydata.RIDER_SHIFT[1],
                }
            )
    # Each community's worker, whom welfare alerts reach once they link their chat; named
    # without a draw, so the city's elders stay the ones the seed gives.
    workers = [
        {
            "name": f"{citydata.SURNAMES[index]}{citydata.WORKER_TITLE}",
            "phone": citydata.WORKER_PHONE.format(number=index + 1),
            "community": entry["code"],
        }
        for index, entry in enumerate(communities)
    ]
    return {
        "format": programme.FORMAT,
        "version": programme.VERSION,
        "communities": communities,
        "sites": sites,
        "riders": riders,
        "workers": workers,
    }


def build_city(
    session: Session,
    clock: FixedClock,
    rng: random.Random,
    day: date,
    settings: Settings,
    progress: Progress = _no_progress,
    elders: int = ELDERS,
) -> City:
    """The demo city with `elders` elders: the first ones the seed draws for the whole city,
    so a smaller city is the start of the same one (same streets, kitchens, canteens, menus,
    riders, workers and policy)."""
    city = City()
    # The district's communities, sites and their meals, and riders are data (citydata, drawn
    # into a set-up file), brought in through the same use cases as the set-up pages.
    document = city_setup(rng)
    programme.import_setup(
        session=session, clock=clock, settings=settings, actor=SETUP_ACTOR, document=document
    )
    community_ids = {c.code: saved(c.id) for c in session.exec(select(Community))}
    communities: dict[str, list[int]] = {}
    for entry in document["communities"]:
        communities.setdefault(entry["street"], []).append(community_ids[entry["code"]])
    sites = {s.code: s for s in session.exec(select(Site))}
    city.kitchens = [sites[f"K{n}"] for n in range(1, len(citydata.KITCHENS) + 1)]
    city.canteens = [sites[f"C{n}"] for n in range(1, len(citydata.STREETS) + 1)]
    city.riders = len(document["riders"])
    kitchen_of_street = {
        street: sites[f"K{number}"]
        for number, (_street, _lat, _lon, streets) in enumerate(citydata.KITCHENS.values(), 1)
        for street in streets
    }

    dishes = [
        create_dish(
            session=session,
            clock=clock,
            actor=SETUP_ACTOR,
            dish_in=DishCreate(
                code=code,
                name_zh=zh,
                name_en=en,
                allergens=allergens,
                # Every dish is cooked in each of the demo's variants (the menus offer them all).
                variants=[
                    DishVariant(code=variant, texture=texture, diet_tags=tags)
                    for variant, (texture, tags, _) in citydata.VARIANTS.items()
                ],
            ),
        )
        for code, (zh, en, allergens) in citydata.DISHES.items()
    ]
    city.dishes = len(dishes)
    sites = city.kitchens + city.canteens
    first = day - timedelta(days=MENU_DAYS_BEFORE)
    menu_days = MENU_DAYS_BEFORE + 1 + MENU_DAYS_AFTER
    tick = progress("menus", menu_days)
    for offset in range(menu_days):
        service_date = first + timedelta(days=offset)
        for slot, price in ((Slot.lunch, LUNCH_PRICE), (Slot.dinner, DINNER_PRICE)):
            # Three sets a meal, rotating through the dish list; every site of the district
            # serves what the kitchens cook that day.
            start = (offset * 6 + (0 if slot == Slot.lunch else 3)) % len(dishes)
            todays = [dishes[(start + k) % len(dishes)] for k in range(3)]
            items = [
                MenuItemCreate(
                    dish_id=dish.id,
                    variant=variant,
                    texture=texture,
                    diet_tags=tags,
                    price_fen=price + extra,
                    position=position,
                )
                for position, dish in enumerate(todays)
                for variant, (texture, tags, extra) in citydata.VARIANTS.items()
            ]
            for site in sites:
                if (
                    slot == Slot.dinner
                    and site.kind == SiteKind.canteen
                    and not any(s.slot == Slot.dinner for s in _slots_of(site, session))
                ):
                    continue
                publish_menu(
                    session=session,
                    clock=clock,
                    actor=SETUP_ACTOR,
                    site_id=site.id,
                    service_date=service_date,
                    slot=slot,
                    items=items,
                )
                city.menus += 1
        tick()

    _add_elders(
        session, clock, rng, day, settings, city, communities, kitchen_of_street, progress, elders
    )
    build_policy(session, clock, day)
    _add_recipes(session, dishes)
    return city


def _add_recipes(session: Session, dishes: list) -> None:
    ingredients = {}
    for code, (zh, en, kind) in citydata.INGREDIENTS.items():
        ingredient = Ingredient(code=code, name_zh=zh, name_en=en, kind=kind)
        session.add(ingredient)
        session.flush()
        ingredients[code] = ingredient
    for dish in dishes:
        for code, amount, unit in citydata.RECIPE_BASE + citydata.RECIPE_MAIN[dish.code]:
            ingredient = ingredients[code]
            session.add(
                RecipeLine(
                    dish_id=dish.id,
                    ingredient_id=ingredient.id,
                    milli_per_portion=to_milli(amount, unit, UnitKind(ingredient.kind)),
                )
            )
    session.flush()


def build_policy(session: Session, clock: FixedClock, day: date) -> dict[str, int]:
    """The demo's funders, fund and subsidy rules (see citydata), set up as the admin would on
    the policy pages (usecases.policy), in force from the demo day."""
    districts = {(d.city, d.name): d.id for d in list_districts(session=session)}
    funders = {}
    for code, (zh, en, share, layer, place) in citydata.FUNDERS.items():
        funder = policy.create_funder(
            session=session,
            clock=clock,
            actor=SETUP_ACTOR,
            funder_in=policy.FunderCreate(
                code=code,
                name_zh=zh,
                name_en=en,
                share=share,
                layer=layer,
                city=citydata.CITY if layer else None,
                district_id=districts[(citydata.CITY, place)] if layer == "district" else None,
            ),
        )
        funders[code] = saved(funder.id)
    funds = {}
    for code, (funder_code, zh, en, period, budget) in citydata.FUNDS.items():
        fund = policy.create_fund(
            session=session,
            clock=clock,
            actor=SETUP_ACTOR,
            fund_in=policy.FundCreate(
                code=code,
                funder_id=funders[funder_code],
                name_zh=zh,
                name_en=en,
                period=period,
                budget_fen=budget,
            ),
        )
        funds[code] = saved(fund.id)
    for code, rule in citydata.RULES.items():
        funder_code, fund, conditions, fixed, bp, priority, stacks, per_meal, per_month = rule
        policy.publish_rule(
            session=session,
            clock=clock,
            actor=SETUP_ACTOR,
            draft=policy.RuleDraft(
                code=code,
                funder_id=funders[funder_code],
                fund_id=funds[fund] if fund else None,
                effective_from=day,
                amount_fen=fixed,
                percent_bp=bp,
                priority=priority,
                stacks=stacks,
                cap_per_meal_fen=per_meal,
                cap_per_elder_month_fen=per_month,
                categories=conditions.get("categories", []),
                min_age=conditions.get("min_age"),
            ),
        )
    # The programme's own settings have no page yet: written as the set-up did before.
    session.add(
        policy.BillingPolicy(
            effective_from=date(day.year, 1, 1),
            elder_min_payment_fen=citydata.ELDER_MIN_PAYMENT_FEN,
            unserved=citydata.UNSERVED,
        )
    )
    session.flush()
    return funders


def _slots_of(site: Site, session: Session):
    from core.models import MealSlot

    return session.exec(select(MealSlot).where(MealSlot.site_id == site.id)).all()


def _elder_profile(rng: random.Random, age: int) -> dict:
    care = rng.random() < (0.04 + max(0, age - 80) * 0.006)
    texture = Texture.regular
    roll = rng.random()
    if care or roll < 0.16:
        texture = rng.choices([Texture.soft, Texture.minced, Texture.pureed], [6, 3, 1])[0]
    needs = []
    if rng.random() < 0.40:
        needs.append("low_salt")
    if rng.random() < 0.18:
        needs.append("low_sugar")
    allergies = (
        [rng.choice(["fish", "shellfish", "peanut", "egg", "milk"])] if rng.random() < 0.06 else []
    )
    if care or age >= 88:
        mode = ServiceMode.delivery
    else:
        mode = rng.choices(
            [ServiceMode.delivery, ServiceMode.dine_in, ServiceMode.pickup], [40, 45, 15]
        )[0]
    return {
        "care": care,
        "texture": texture,
        "diet_needs": needs,
        "allergies": allergies,
        "service_mode": mode,
    }


def _categories(
    rng: random.Random, age: int, birth: date, day: date, care: bool, n: int
) -> list[CategoryGrant]:
    grants = []
    since = date(day.year - rng.randrange(1, 8), rng.randrange(1, 13), 1)
    # One elder in fifty lives with dementia (失智), the 34th among them: a small demo city
    # (`--elders`) has every category too. Not drawn from `rng`, which would change the rest
    # of the city.
    if n % 50 == 33:
        grants.append(CategoryGrant(category=Category.dementia, valid_from=since))
    roll = rng.random()
    if roll < 0.03:
        grants.append(CategoryGrant(category=Category.extreme_poverty, valid_from=since))
    elif roll < 0.11:
        # A few 低保 grants lapsed last month: the anomaly checks must notice them.
        lapsed = rng.random() < 0.1
        grants.append(
            CategoryGrant(
                category=Category.minimum_living,
                valid_from=since,
                valid_to=(day.replace(day=1) - timedelta(days=1)) if lapsed else None,
            )
        )
    elif roll < 0.17:
        grants.append(CategoryGrant(category=Category.low_income, valid_from=since))
    if age >= 80:
        grants.append(
            CategoryGrant(
                category=Category.advanced_age,
                valid_from=birth.replace(year=birth.year + 80)
                if not (birth.month == 2 and birth.day == 29)
                else date(birth.year + 80, 3, 1),
            )
        )
    if care:
        grants.append(CategoryGrant(category=Category.disabled_care, valid_from=since))
    for category, share in (
        (Category.dementia, 0.02),
        (Category.living_alone, 0.22),
        (Category.family_planning, 0.015),
        (Category.disability, 0.05),
    ):
        drawn = rng.random() < share  # drawn whatever the elder has: the same city after
        if drawn and all(grant.category != category for grant in grants):
            grants.append(CategoryGrant(category=category, valid_from=since))
    return grants


def _natural_variant(texture: Texture, needs: list[str]) -> str:
    if texture != Texture.regular:
        return texture.value
    if "low_sugar" in needs:
        return "low_sugar"
    return "low_salt" if "low_salt" in needs else "regular"


def _add_elders(
    session, clock, rng, day, settings, city, communities, kitchen_of_street, progress, count
) -> None:
    canteen_of_street = {c.name.removesuffix("长者饭堂"): c for c in city.canteens}
    phones: set[str] = set()
    telegram_ids = iter(range(7_000_000_001, 7_100_000_000))
    tick = progress("elders", count)
    streets = list(citydata.STREETS.items())
    for n in range(count):
        street, (_lat, _lon, roads, _names) = streets[n % len(streets)]
        community_id = rng.choice(communities[street])
        from core.models import Community

        community = session.get(Community, community_id)
        age = _age(rng)
        birth = date(day.year - age, rng.randrange(1, 13), rng.randrange(1, 29))
        female = rng.random() < 0.58
        surname = rng.choice(citydata.SURNAMES)
        name = surname + rng.choice(citydata.GIVEN_FEMALE if female else citydata.GIVEN_MALE)
        profile = _elder_profile(rng, age)
        lat, lon = _offset(rng, community.lat, community.lon, 220)
        contacts = [
            EmergencyContactCreate(
                name=surname + rng.choice(citydata.CHILD_GIVEN),
                relation=rng.choice(citydata.RELATIONS),
                phone=_phone(rng, phones),
                priority=1,
            )
        ]
        canteen, kitchen = canteen_of_street[street], kitchen_of_street[street]
        home = kitchen if profile["service_mode"] == ServiceMode.delivery else canteen
        elder = elders.register_elder(
            session=session,
            clock=clock,
            actor=SETUP_ACTOR,
            elder_in=ElderCreate(
                name=name,
                phone=_phone(rng, phones) if rng.random() < 0.7 else None,
                address=f"{citydata.DISTRICT}{rng.choice(roads)}{rng.randrange(1, 240)}号"
                f"{rng.randrange(1, 12)}栋{rng.randrange(1, 9)}0{rng.randrange(1, 6)}",
                lat=lat,
                lon=lon,
                community_id=community_id,
                birth_date=birth,
                gender="女" if female else "男",
                texture=profile["texture"],
                diet_needs=profile["diet_needs"],
                allergies=profile["allergies"],
                service_mode=profile["service_mode"],
                home_site_id=home.id,
                categories=_categories(rng, age, birth, day, profile["care"], n),
                emergency_contacts=contacts,
                # Registered with written consent, as the registry's form asks; one in forty
                # has yet to sign (the registry flags them). Not drawn from `rng`, which would
                # change the rest of the demo city.
                consent=len(city.elders) % 40 != 17,
            ),
        )
        city.elders.append(elder)
        city.site_for[(elder.id, ServiceMode.delivery)] = kitchen.id
        city.site_for[(elder.id, ServiceMode.dine_in)] = canteen.id
        city.site_for[(elder.id, ServiceMode.pickup)] = canteen.id

        roll = rng.random()
        if roll < 0.45:
            weekdays = [1, 2, 3, 4, 5] if rng.random() < 0.7 else [1, 2, 3, 4, 5, 6, 7]
            standing = create_standing_order(
                session=session,
                clock=clock,
                settings=settings,
                elder_id=elder.id,
                site_id=home.id,
                slot=Slot.lunch,
                weekdays=weekdays,
                variant=_natural_variant(profile["texture"], profile["diet_needs"]),
                mode=profile["service_mode"],
                start_date=day - timedelta(days=rng.randrange(30, 400)),
            )
            city.standing_orders += 1
            if rng.random() < 0.05:  # in hospital or visiting family over the demo day
                pause_standing_order(
                    session=session,
                    standing_order_id=standing.id,
                    start_date=day - timedelta(days=rng.randrange(0, 4)),
                    end_date=day + timedelta(days=rng.randrange(0, 6)),
                    reason=rng.choice(["住院", "去子女家小住"]),
                )
            if home.kind == SiteKind.central_kitchen and rng.random() < 0.25:
                create_standing_order(
                    session=session,
                    clock=clock,
                    settings=settings,
                    elder_id=elder.id,
                    site_id=home.id,
                    slot=Slot.dinner,
                    weekdays=weekdays,
                    variant=_natural_variant(profile["texture"], profile["diet_needs"]),
                    mode=ServiceMode.delivery,
                    start_date=day - timedelta(days=30),
                )
                city.standing_orders += 1
        if rng.random() < 0.02:
            pause_elder(
                session=session,
                elder_id=elder.id,
                start_date=day - timedelta(days=1),
                end_date=day + timedelta(days=3),
                reason="住院",
            )

        # About half the elders use the chat themselves or through family.
        if rng.random() < 0.5:
            relation = LinkRelation.self_ if rng.random() < 0.4 else LinkRelation.family
            person = chat_user_for(
                session=session,
                telegram_user_id=next(telegram_ids),
                name=name if relation == LinkRelation.self_ else contacts[0].name,
                language="zh_CN",
                clock=clock,
            )
            elders.link_chat(
                session=session,
                clock=clock,
                actor=SETUP_ACTOR,
                chat_user_id=person.id,
                elder_id=elder.id,
                relation=relation,
            )
            city.chat_users += 1
        tick()


def run_day(
    database: Database,
    clock: FixedClock,
    city: City,
    day: date,
    rng: random.Random,
    settings: Settings,
    progress: Progress = _no_progress,
    plan_seconds: float = PLAN_SECONDS,
) -> DaySummary:
    """Elders and families order through the morning (some change, cancel or are refused),
    then each site's slot closes at its cutoff: standing orders materialise and orders lock."""
    summary = DaySummary(service_date=day)
    tz = clock.tz
    with_standing = set()
    with database.reading() as session:
        from core.models import StandingOrder

        with_standing = {s.elder_id for s in session.exec(select(StandingOrder))}
    ad_hoc = [e for e in city.elders if e.id not in with_standing and rng.random() < 0.45]
    rng.shuffle(ad_hoc)
    late = {e.id for e in ad_hoc[: max(1, len(ad_hoc) // 25)]}  # a few try after the cutoff
    first, last = datetime.combine(day, time(7, 0), tz), datetime.combine(day, time(8, 55), tz)
    span = (last - first).total_seconds()
    tick = progress("orders", len(ad_hoc))
    placed: list[int] = []
    for index, elder in enumerate(ad_hoc):
        at = first + timedelta(seconds=span * index / max(1, len(ad_hoc)))
        if elder.id in late:
            at = datetime.combine(day, time(10, 5), tz)
        clock.set(at)
        slot = Slot.dinner if rng.random() < 0.15 else Slot.lunch
        mode = ServiceMode(elder.service_mode)
        if slot == Slot.dinner:
            mode = ServiceMode.delivery
        site_id = city.site_for[(elder.id, mode)]
        try:
            with database.transaction() as session:
                choices = menu_choices(
                    session=session, site_id=site_id, service_date=day, slot=slot
                )
                profile = profile_of_elder(
                    elder.name, elder.texture, elder.diet_needs, elder.allergies
                )
                suitable = suitable_choices(choices, profile)
                # Now and then someone taps a dish that does not suit them: the service says no.
                pick = rng.choice(choices if rng.random() < 0.03 or not suitable else suitable)
                order = place_order(
                    session=session,
                    clock=clock,
                    settings=settings,
                    elder_id=elder.id,
                    site_id=site_id,
                    service_date=day,
                    slot=slot,
                    dish_id=pick.dish_id,
                    variant=pick.variant,
                    quantity=1,
                    mode=mode,
                    idempotency_key=f"demo:{day}:{elder.id}:{slot}",
                    source=rng.choice([OrderSource.chat, OrderSource.chat, OrderSource.staff]),
                )
                summary.placed[order.order.source] += 1
                placed.append(order.order.id)
        except DomainError as refusal:
            summary.refuse(refusal)
        tick()

    # A few change their minds before the cutoff; a double tap is refused as a duplicate.
    clock.set(datetime.combine(day, time(8, 58), tz))
    for order_id in rng.sample(placed, k=min(len(placed), max(1, len(placed) // 30))):
        with database.transaction() as session:
            cancel_order(session=session, clock=clock, settings=settings, order_id=order_id)
            summary.cancelled += 1
    for order_id in rng.sample(placed, k=min(len(placed), max(1, len(placed) // 40))):
        try:
            with database.transaction() as session:
                change_order(
                    session=session, clock=clock, settings=settings, order_id=order_id, quantity=2
                )
                summary.changed += 1
        except DomainError as refusal:
            summary.refuse(refusal)
    if placed:
        try:
            with database.transaction() as session:
                again = session.get(Order, placed[-1])
                place_order(
                    session=session,
                    clock=clock,
                    settings=settings,
                    elder_id=again.elder_id,
                    site_id=again.site_id,
                    service_date=day,
                    slot=Slot(again.slot),
                    dish_id=again.dish_id,
                    variant=again.variant,
                    idempotency_key=again.idempotency_key,
                )
        except DomainError as refusal:
            summary.refuse(refusal)

    # Each site's slot closes at its own time through the day.
    for moment in (time(9, 0), time(10, 0), time(14, 30), time(15, 0)):
        clock.set(datetime.combine(day, moment, tz))
        with database.transaction() as session:
            for site_id, slot in due_cutoffs(session=session, clock=clock, service_date=day):
                summary.cutoffs.append(
                    run_cutoff(
                        session=session,
                        clock=clock,
                        settings=settings,
                        site_id=site_id,
                        service_date=day,
                        slot=slot,
                    )
                )
    # Each kitchen's riders get their routes for each meal.
    with database.reading() as session:
        kitchens = [k.id for k in city.kitchens]
    tick = progress("routes", len(kitchens) * 2)
    for kitchen_id in kitchens:
        for slot in (Slot.lunch, Slot.dinner):
            with database.transaction() as session:
                summary.routes.append(
                    plan_kitchen(
                        session=session,
                        clock=clock,
                        kitchen_id=kitchen_id,
                        service_date=day,
                        slot=slot,
                        actor="demo",
                        params=SolveParams(time_limit=plan_seconds),
                    )
                )
            tick()

    # Riders deliver in route order, at the planned time; canteens serve at the counter
    # (usecases.counter, as canteen staff do). A few doors stay shut, and a few pick-ups are
    # never collected: the counter marks those when the meal is over.
    with database.reading() as session:
        locked = session.exec(
            select(Order.id, Order.mode, Order.slot, Order.site_id, RouteStop.eta)
            .outerjoin(RouteStop, RouteStop.order_id == Order.id)
            .where(Order.service_date == day, Order.status == OrderStatus.locked)
            .order_by(Order.slot, RouteStop.eta, Order.id)
        ).all()
    # Which doors stay shut is drawn in the order the meals were ordered, not in route order:
    # the routes come from a time-limited search, and the same seed must give the same day.
    missed = {
        order_id
        for order_id, mode, *_ in sorted(locked, key=lambda row: row[0])
        if mode != ServiceMode.dine_in and rng.random() < 0.03
    }
    tick = progress("outcomes", len(locked))
    counters: set[tuple[int, Slot]] = set()
    for order_id, mode, slot, site_id, eta in locked:
        at = time(12, 10) if slot == Slot.lunch else time(17, 50)
        clock.set(eta or datetime.combine(day, at, tz))
        with database.transaction() as session:
            if mode == ServiceMode.delivery:
                record_outcome(
                    session=session,
                    clock=clock,
                    settings=settings,
                    order_id=order_id,
                    outcome=OrderStatus.no_answer if order_id in missed else OrderStatus.delivered,
                    by="demo-rider",
                )
            elif order_id not in missed:
                counter.serve(
                    session=session,
                    clock=clock,
                    settings=settings,
                    actor=CANTEEN_ACTOR,
                    order_id=order_id,
                )
        if mode != ServiceMode.delivery:
            counters.add((site_id, Slot(slot)))
        tick()
    # An elder who ordered nothing turns up at her canteen at lunch: served on the spot
    # (usecases.counter.serve_walk_in: ordered and served through the same use cases).
    clock.set(datetime.combine(day, time(12, 15), tz))
    if city.canteens:
        canteen = city.canteens[0]
        with database.reading() as session:
            ordered = set(
                session.exec(
                    select(Order.elder_id).where(
                        Order.service_date == day, Order.status != OrderStatus.cancelled
                    )
                )
            )
        walk_in = next(
            (
                elder_id
                for (elder_id, mode), site_id in sorted(city.site_for.items())
                if mode == ServiceMode.dine_in and site_id == canteen.id and elder_id not in ordered
            ),
            None,
        )
        if walk_in is not None:
            try:
                with database.transaction() as session:
                    choices = counter.walk_in_choices(
                        session=session, clock=clock, site_id=saved(canteen.id), elder_id=walk_in
                    )
                    if choices:
                        counter.serve_walk_in(
                            session=session,
                            clock=clock,
                            settings=settings,
                            actor=CANTEEN_ACTOR,
                            site_id=saved(canteen.id),
                            elder_id=walk_in,
                            dish_id=choices[0].choice.dish_id,
                            variant=choices[0].choice.variant,
                            slot=choices[0].slot,
                        )
                        summary.placed["counter"] += 1
            except DomainError as refusal:
                summary.refuse(refusal)
    for site_id, slot in sorted(counters):
        clock.set(datetime.combine(day, time(13, 30) if slot == Slot.lunch else time(19, 0), tz))
        with database.transaction() as session:
            counter.not_collected(
                session=session,
                clock=clock,
                settings=settings,
                actor=CANTEEN_ACTOR,
                site_id=site_id,
                service_date=day,
                slot=slot,
            )
    with database.reading() as session:
        summary.final = list(
            session.exec(
                select(Order).where(
                    Order.service_date == day, Order.status != OrderStatus.cancelled
                )
            )
        )
    return summary


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    password: str
    sees: str


def create_staff_accounts(session: Session, clock: FixedClock) -> list[DemoAccount]:
    """One staff account per role, with a fresh random password each: the rider of the first
    planned route, that route's kitchen, the first funder, the first canteen and the community
    of the route's first elder."""
    from core.models import Community
    from routing.records import DeliveryRoute
    from usecases.accounts import create_account, random_password

    route = session.exec(select(DeliveryRoute).order_by(DeliveryRoute.id)).first()
    if route is not None:
        rider_id, kitchen_id = route.rider_id, route.kitchen_id
        first_stop = session.exec(
            select(Elder.community_id)
            .join(Order, Order.elder_id == Elder.id)
            .join(RouteStop, RouteStop.order_id == Order.id)
            .where(RouteStop.route_id == route.id)
            .order_by(RouteStop.position)
        ).first()
    else:
        rider_id = session.exec(select(Rider.id).order_by(Rider.id)).first()
        kitchen_id = session.exec(
            select(Site.id).where(Site.kind == SiteKind.central_kitchen).order_by(Site.id)
        ).first()
        first_stop = None
    community_id = first_stop or session.exec(select(Community.id).order_by(Community.id)).first()
    funder_id = session.exec(select(Funder.id).order_by(Funder.id)).first()
    canteen_id = session.exec(
        select(Site.id).where(Site.kind == SiteKind.canteen).order_by(Site.id)
    ).first()
    plan = [
        ("admin", "admin", {}, "/"),
        ("kitchen", "kitchen", {"kitchen_id": kitchen_id}, f"/kitchens/{kitchen_id}/production"),
        ("rider", "rider", {"rider_id": rider_id}, "/rider"),
        ("community", "community_worker", {"community_ids": [community_id]}, "/"),
        ("auditor", "funder_auditor", {"funder_id": funder_id}, "/"),
        ("canteen", "canteen", {"site_ids": [canteen_id]}, "/counter"),
    ]
    accounts = []
    for username, role, links, home in plan:
        password = random_password()
        create_account(
            session=session,
            clock=clock,
            actor=SETUP_ACTOR,
            account_in={"username": username, "password": password, "role": role, **links},
        )
        accounts.append(DemoAccount(username, role, password, home))
    return accounts
