"""Small factories for tests: each makes one thing with sensible defaults and what it needs."""

import itertools
from datetime import date, time, timedelta

from sqlmodel import Session, select

from core.clock import FixedClock
from core.elders import create_elder
from core.menus import create_dish, publish_menu
from core.models import Community, Dish, Elder, Menu, Site
from core.schemas import (
    CategoryGrant,
    CommunityCreate,
    DishCreate,
    ElderCreate,
    MealSlotCreate,
    MenuItemCreate,
    SiteCreate,
)
from core.settings import Settings
from core.sites import create_community, create_site
from core.types import Category, ServiceMode, SiteKind, Slot, Texture

_numbers = itertools.count(1)

# The settings the tests pass on as a surface would (the process's environment, the defaults
# otherwise), and what core takes of them as values: core reads no settings of its own
# (docs/architecture.md, "Settings"). A test of a setting passes its own.
SETTINGS = Settings()
# A new order's limits and the number a refusal past the cutoff names (core.orders).
ORDER_LIMITS = {
    "max_order_quantity": SETTINGS.max_order_quantity,
    "order_horizon_days": SETTINGS.order_horizon_days,
    "programme_phone": SETTINGS.programme_phone,
}
# The limits the cutoff places standing orders by (core.cutoff, core.standing).
CUTOFF_LIMITS = {
    "max_order_quantity": SETTINGS.max_order_quantity,
    "order_horizon_days": SETTINGS.order_horizon_days,
}
# A welfare alert's escalation window and duty line (core.welfare).
WELFARE_LINE = {
    "welfare_ack_minutes": SETTINGS.welfare_ack_minutes,
    "duty_phone": SETTINGS.duty_phone,
    "duty_chat_id": SETTINGS.duty_chat_id,
}

LUNCH = MealSlotCreate(
    slot=Slot.lunch, cutoff_time=time(9, 30), delivery_start=time(11, 0), delivery_end=time(12, 30)
)
DINNER = MealSlotCreate(
    slot=Slot.dinner, cutoff_time=time(15, 0), delivery_start=time(17, 0), delivery_end=time(18, 30)
)

# variant -> (texture, diet tags)
VARIANTS = {
    "regular": (Texture.regular, []),
    "low_salt": (Texture.regular, ["low_salt"]),
    "soft": (Texture.soft, ["low_salt", "low_sugar"]),
    "minced": (Texture.minced, ["low_salt", "low_sugar"]),
}


class Factory:
    def __init__(self, session: Session, clock: FixedClock) -> None:
        self.session = session
        self.clock = clock

    @property
    def today(self) -> date:
        return self.clock.now().date()

    def community(self, **overrides) -> Community:
        n = next(_numbers)
        values = dict(
            code=f"C{n}",
            name=f"社区{n}",
            street="北京街",
            district="越秀区",
            city="广州市",
            lat=23.125,
            lon=113.27,
        )
        values.update(overrides)
        return create_community(session=self.session, community_in=CommunityCreate(**values))

    def site(self, serves: list[Community] | None = None, **overrides) -> Site:
        n = next(_numbers)
        community = serves[0] if serves else self.community()
        values = dict(
            code=f"S{n}",
            name=f"长者饭堂{n}",
            kind=SiteKind.canteen,
            address=f"北京路{n}号",
            lat=23.126,
            lon=113.271,
            community_id=community.id,
            phone="020-8888 0000",
            offers_delivery=True,
            offers_pickup=True,
            offers_dine_in=True,
            serves_community_ids=[c.id for c in (serves or [community])],
            slots=[LUNCH, DINNER],
        )
        values.update(overrides)
        return create_site(session=self.session, site_in=SiteCreate(**values))

    def dish(self, allergens: list[str] | None = None, **overrides) -> Dish:
        n = next(_numbers)
        values = dict(
            code=f"D{n}", name_zh=f"菜式{n}", name_en=f"Dish {n}", allergens=allergens or []
        )
        values.update(overrides)
        return create_dish(session=self.session, dish_in=DishCreate(**values))

    def menu(
        self,
        site: Site,
        dishes: list[Dish],
        service_date: date | None = None,
        slot: Slot = Slot.lunch,
        price_fen: int = 1500,
        variants: tuple[str, ...] = tuple(VARIANTS),
    ) -> Menu:
        items = [
            MenuItemCreate(
                dish_id=dish.id,
                variant=variant,
                texture=VARIANTS[variant][0],
                diet_tags=VARIANTS[variant][1],
                price_fen=price_fen,
                position=position,
            )
            for position, dish in enumerate(dishes)
            for variant in variants
        ]
        return publish_menu(
            session=self.session,
            site_id=site.id,
            service_date=service_date or self.today,
            slot=slot,
            items=items,
        )

    def elder(
        self,
        community: Community | Site | None = None,
        categories: list[Category] | None = None,
        **overrides,
    ) -> Elder:
        n = next(_numbers)
        if isinstance(community, Site):
            community_id = community.community_id
        else:
            community_id = (community or self.community()).id
        values = dict(
            name=f"长者{n}",
            phone=f"1390000{n:04d}",
            address=f"人民路{n}号",
            lat=23.127,
            lon=113.272,
            community_id=community_id,
            birth_date=date(1940, 5, 1),
            service_mode=ServiceMode.delivery,
            categories=[
                CategoryGrant(category=c, valid_from=date(2020, 1, 1)) for c in categories or []
            ],
        )
        values.update(overrides)
        return create_elder(session=self.session, elder_in=ElderCreate(**values), clock=self.clock)

    def world(self, service_date: date | None = None):
        """A site serving one community with a lunch and dinner menu, and one elder there."""
        community = self.community()
        site = self.site(serves=[community])
        dishes = [self.dish(), self.dish(allergens=["fish"])]
        day = service_date or self.today
        for offset in range(0, 3):
            for slot in (Slot.lunch, Slot.dinner):
                self.menu(site, dishes, day + timedelta(days=offset), slot)
        elder = self.elder(community)
        return site, dishes, elder


class PolicyFactory:
    """Funders, funds and rules for billing tests."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def funder(self, share: str = "government", **overrides):
        from billing.models import Funder

        n = next(_numbers)
        values = dict(code=f"F{n}", name_zh=f"出资方{n}", name_en=f"Funder {n}", share=share)
        if share == "government":
            values.update(layer="city", city="广州市")
        values.update(overrides)
        funder = Funder(**values)
        self.session.add(funder)
        self.session.flush()
        return funder

    def fund(self, funder, budget_fen: int, period: str = "whole"):
        """A fund with one budget for as long as it lasts, unless `period` renews it ("month",
        "year")."""
        from billing.models import Fund

        n = next(_numbers)
        fund = Fund(
            code=f"FD{n}",
            funder_id=funder.id,
            name_zh=f"基金{n}",
            name_en=f"Fund {n}",
            period=period,
            budget_fen=budget_fen,
        )
        self.session.add(fund)
        self.session.flush()
        return fund

    def rule(self, funder, effective_from: date = date(2026, 1, 1), **overrides):
        from billing.models import SubsidyRule

        n = next(_numbers)
        values = dict(code=f"R{n}", funder_id=funder.id, effective_from=effective_from)
        values.update(overrides)
        if values.get("amount_fen") is None and values.get("percent_bp") is None:
            values["amount_fen"] = 300
        rule = SubsidyRule(**values)
        self.session.add(rule)
        self.session.flush()
        return rule

    def policy(self, **overrides):
        from billing.models import BillingPolicy

        policy = BillingPolicy(
            effective_from=overrides.pop("effective_from", date(2026, 1, 1)), **overrides
        )
        self.session.add(policy)
        self.session.flush()
        return policy


def lunch_kitchen(make: Factory, community: Community, *, cutoff: time, rider: str) -> Site:
    """A central kitchen serving `community` lunch (closing at `cutoff`, delivered 11:00-12:30)
    with one rider of 10 boxes."""
    from core.models import Rider

    kitchen = make.site(
        serves=[community],
        kind=SiteKind.central_kitchen,
        slots=[
            MealSlotCreate(
                slot=Slot.lunch,
                cutoff_time=cutoff,
                delivery_start=time(11, 0),
                delivery_end=time(12, 30),
            )
        ],
    )
    make.session.add(
        Rider(
            name=rider,
            phone="13900000001",
            kitchen_id=kitchen.id,
            capacity=10,
            shift_start=time(10, 30),
            shift_end=time(13, 0),
        )
    )
    return kitchen


def route_key(database, route_id: int, channel=None) -> str:
    """The key a route sheet's (or chat's) link to this route carries today."""
    from routing import links
    from routing.records import DeliveryRoute

    with database.reading() as session:
        route = session.get_one(DeliveryRoute, route_id)
        return links.route_key(route, channel or links.Channel.sheet)


def stop_key(database, order_id: int, channel=None) -> str:
    """The key a box label's link to this order's delivery carries today."""
    from routing import links
    from routing.records import DeliveryRoute, RouteStop

    with database.reading() as session:
        stop = session.exec(select(RouteStop).where(RouteStop.order_id == order_id)).one()
        route = session.get_one(DeliveryRoute, stop.route_id)
        return links.stop_key(route, order_id, channel or links.Channel.label)


def kitchen_with_route(
    make: Factory, *, elders: int, rider: str = "骑手乙"
) -> tuple[int, list[int]]:
    """A central kitchen with one rider, `elders` lunch deliveries today, locked and planned
    (deterministically) onto one route. Returns the route id and the order ids."""
    from sqlmodel import select

    from core.cutoff import run_cutoff
    from core.orders import place_order
    from core.schemas import EmergencyContactCreate
    from routing.records import DeliveryRoute
    from routing.solver import SolveParams
    from usecases.routing import plan_kitchen

    session, clock, day = make.session, make.clock, make.today
    community = make.community()
    kitchen = lunch_kitchen(make, community, cutoff=time(9, 0), rider=rider)
    dish = make.dish(name_zh="白切鸡套餐")
    make.menu(kitchen, [dish], day)
    orders = []
    for index in range(elders):
        elder = make.elder(
            community,
            name=f"长者{index}",
            lat=23.126 + 0.003 * index,
            emergency_contacts=[
                EmergencyContactCreate(name="女儿", relation="女儿", phone="13800009999")
            ],
        )
        orders.append(
            place_order(
                session=session,
                clock=clock,
                elder_id=elder.id,
                site_id=kitchen.id,
                service_date=day,
                slot=Slot.lunch,
                dish_id=dish.id,
                variant="regular",
                mode=ServiceMode.delivery,
                idempotency_key=f"route-{elder.id}",
                **ORDER_LIMITS,
            ).id
        )
    run_cutoff(
        session=session,
        clock=clock,
        site_id=kitchen.id,
        service_date=day,
        slot=Slot.lunch,
        early=True,
        **CUTOFF_LIMITS,
    )
    plan_kitchen(  # recorded as planned: the scheduler leaves it alone
        session=session,
        clock=clock,
        kitchen_id=kitchen.id,
        service_date=day,
        slot=Slot.lunch,
        actor="test",
        params=SolveParams(deterministic=True, solution_limit=20),
    )
    return session.exec(select(DeliveryRoute.id)).one(), orders


PASSWORD = "correct horse battery"


def make_staff(make: Factory, role: str, password: str = PASSWORD, **links):
    """A staff account of this role (with the link the role needs, made when not given)."""
    from api.accounts.models import StaffAccountCreate
    from api.accounts.service import create_account

    n = next(_numbers)
    if role == "rider" and "rider_id" not in links:
        from core.models import Rider

        kitchen = make.site(kind=SiteKind.central_kitchen)
        rider = Rider(
            name=f"骑手{n}",
            phone="13900000002",
            kitchen_id=kitchen.id,
            shift_start=time(10, 30),
            shift_end=time(13, 0),
        )
        make.session.add(rider)
        make.session.flush()
        links["rider_id"] = rider.id
    if role == "funder_auditor" and "funder_id" not in links:
        links["funder_id"] = PolicyFactory(make.session).funder().id
    if role == "kitchen" and "kitchen_id" not in links:
        links["kitchen_id"] = make.site(kind=SiteKind.central_kitchen).id
    if role == "community_worker" and "community_ids" not in links:
        links["community_ids"] = [make.community().id]
    if role == "canteen" and "site_ids" not in links:
        links["site_ids"] = [make.site(kind=SiteKind.canteen).id]
    return create_account(
        session=make.session,
        clock=make.clock,
        account_in=StaffAccountCreate(
            username=f"{role.replace('_', '-')}{n}", password=password, role=role, **links
        ),
    )


def csrf_from(html: str) -> str:
    """The CSRF token in a page's forms."""
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def log_in(client, username: str, password: str = PASSWORD, **extra):
    """Log a test client in through the login form, as a browser would."""
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, **extra},
        follow_redirects=False,
    )


def served_lunches(make: Factory, *, funder_name: tuple[str, str] = ("广州市民政局", "Guangzhou")):
    """Three elders served lunch today under a city funder's 低保 rule (drawing on a fund of
    ¥1,000) and a universal one, with a charity funder that paid nothing. Returns the city
    funder and the charity."""

    session = make.session
    site, dishes, _ = make.world()
    policy = PolicyFactory(session)
    city = policy.funder(name_zh=funder_name[0], name_en=funder_name[1])
    fund = policy.fund(city, budget_fen=100_000)
    policy.rule(city, code="DIBAO", categories=["dibao"], amount_fen=800, fund_id=fund.id)
    policy.rule(city, code="BASE", amount_fen=200, stacks=True)
    charity = policy.funder(share="charity", name_zh="慈善会", name_en="Charity")
    elders = [
        make.elder(site, name="低保长者", categories=[Category.minimum_living]),
        make.elder(site, name="普通长者"),
        make.elder(site, name="另一位"),
    ]
    lunch_delivered(make, site, dishes[0], elders)
    return city, charity


def lunch_locked(make: Factory, site, dish, orders: list[tuple]) -> list[int]:
    """Today's lunch of `dish` at the site ordered for these (elder, way it is served) and its
    cutoff run: the orders locked, ready for the counter or the door. Their ids."""
    from usecases import ordering

    ids = [
        ordering.place_order(
            session=make.session,
            clock=make.clock,
            settings=SETTINGS,
            elder_id=elder.id,
            site_id=site.id,
            service_date=make.today,
            slot=Slot.lunch,
            dish_id=dish.id,
            variant="regular",
            mode=mode,
            idempotency_key=f"lunch-{elder.id}",
        ).order.id
        for elder, mode in orders
    ]
    ordering.run_cutoff(
        session=make.session,
        clock=make.clock,
        settings=SETTINGS,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        early=True,
    )
    return ids


def lunch_delivered(make: Factory, site, dish, elders) -> list[int]:
    """Today's lunch of `dish` ordered for these elders at the site, its cutoff run, and each
    delivered: meals the ledger has posted. The orders' ids."""
    from core.types import OrderStatus
    from usecases import ordering

    orders = lunch_locked(make, site, dish, [(elder, None) for elder in elders])
    for order_id in orders:
        ordering.record_outcome(
            session=make.session,
            clock=make.clock,
            settings=SETTINGS,
            order_id=order_id,
            outcome=OrderStatus.delivered,
            by="rider",
        )
    return orders


def kitchen_with_standing_orders(
    make: Factory,
    *,
    cutoff: time = time(9, 0),
    elders: int = 1,
    canteen: bool = False,
    policy: bool = True,
) -> dict:
    """A central kitchen delivering today's lunch (closing at `cutoff`) to `elders` elders,
    each with a daily standing order, one rider and a city subsidy of ¥3 a meal; with
    `canteen`, a canteen beside it. Returns the kitchen's id and code, the canteen's code and
    the elders' ids. A second kitchen in the same city takes `policy=False`: the subsidy is
    the city's, made once."""
    from core.standing import create_standing_order

    session = make.session
    community = make.community()
    kitchen = lunch_kitchen(make, community, cutoff=cutoff, rider="骑手甲")
    make.menu(kitchen, [make.dish()], make.today)
    if policy:
        rules = PolicyFactory(session)
        rules.policy()
        rules.rule(rules.funder(), amount_fen=300)
    elder_ids = []
    for index in range(elders):
        elder = make.elder(community, lat=23.126 + 0.003 * index)
        create_standing_order(
            session=session,
            clock=make.clock,
            elder_id=elder.id,
            site_id=kitchen.id,
            slot=Slot.lunch,
            weekdays=[1, 2, 3, 4, 5, 6, 7],
            mode=ServiceMode.delivery,
            start_date=make.today,
            max_order_quantity=SETTINGS.max_order_quantity,
        )
        elder_ids.append(elder.id)
    return {
        "kitchen": kitchen.id,
        "kitchen_code": kitchen.code,
        "canteen_code": make.site(serves=[community]).code if canteen else None,
        "elders": elder_ids,
    }


def closed_lunch(make: Factory, site, dish, elders: list[tuple[str, str | None, ServiceMode]]):
    """Today's lunch at a site ordered by new elders (name, phone, how it is served), its
    cutoff run: the orders are locked, ready for the counter or the door. Their ids."""
    made = [(make.elder(site, name=name, phone=phone), mode) for name, phone, mode in elders]
    return lunch_locked(make, site, dish, made)
