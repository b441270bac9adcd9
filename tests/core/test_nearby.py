"""Eating at a canteen near where one is: the service area bounds delivery only; the nearest
canteens come with their distance and how diners rated them."""

from datetime import timedelta

import pytest

from core import errors
from core.geo import distance_m
from core.models import MealRating
from core.orders import change_order, place_order
from core.ratings import site_ratings
from core.sites import nearby_sites
from core.standing import create_standing_order
from core.types import ServiceMode, Slot
from tests.conftest import row_counts
from tests.factories import ORDER_LIMITS, SETTINGS


def order(make, elder, site, dish, mode, key):
    return place_order(
        session=make.session,
        clock=make.clock,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dish.id,
        variant="regular",
        mode=mode,
        idempotency_key=key,
        **ORDER_LIMITS,
    )


def test_an_elder_from_elsewhere_may_eat_in_or_pick_up_but_not_have_it_delivered(make, session):
    site, dishes, _ = make.world()
    visitor = make.elder(make.community(name="远方社区"))
    before = row_counts(session)
    with pytest.raises(errors.OutsideServiceArea) as refused:
        order(make, visitor, site, dishes[0], ServiceMode.delivery, "far-d")
    assert row_counts(session) == before
    assert site.name in refused.value.render("zh_CN")
    assert "deliver" in refused.value.render("en")
    placed = order(make, visitor, site, dishes[0], ServiceMode.dine_in, "far-i")
    assert placed.mode == ServiceMode.dine_in
    # ... and may not turn that meal into a delivery afterwards.
    with pytest.raises(errors.OutsideServiceArea):
        change_order(
            session=session,
            clock=make.clock,
            order_id=placed.id,
            mode=ServiceMode.delivery,
            max_order_quantity=SETTINGS.max_order_quantity,
            programme_phone=SETTINGS.programme_phone,
        )
    changed = change_order(
        session=session,
        clock=make.clock,
        order_id=placed.id,
        mode=ServiceMode.pickup,
        max_order_quantity=SETTINGS.max_order_quantity,
        programme_phone=SETTINGS.programme_phone,
    )
    assert changed.mode == ServiceMode.pickup


def test_a_standing_order_from_elsewhere_is_for_the_canteen_not_the_doorstep(make, session):
    site, _, _ = make.world()
    visitor = make.elder(make.community(name="远方社区"))
    values = dict(
        session=session,
        clock=make.clock,
        elder_id=visitor.id,
        site_id=site.id,
        slot=Slot.lunch,
        weekdays=[1, 3, 5],
        start_date=make.today,
    )
    with pytest.raises(errors.OutsideServiceArea):
        create_standing_order(
            **values, mode=ServiceMode.delivery, max_order_quantity=SETTINGS.max_order_quantity
        )
    assert create_standing_order(
        **values, mode=ServiceMode.dine_in, max_order_quantity=SETTINGS.max_order_quantity
    ).weekdays == [1, 3, 5]


def test_distance_is_great_circle_metres():
    # One degree of latitude is about 111.2 km everywhere.
    assert distance_m(23.0, 113.0, 24.0, 113.0) == pytest.approx(111_195, rel=0.001)
    assert distance_m(23.1, 113.2, 23.1, 113.2) == 0


def test_nearest_canteens_first_leaving_out_kitchens_that_only_deliver_and_closed_sites(make):
    community = make.community()
    near = make.site(serves=[community], lat=23.1260, lon=113.2710)
    far = make.site(serves=[community], lat=23.1400, lon=113.2710)
    middle = make.site(serves=[community], lat=23.1300, lon=113.2710)
    make.site(
        serves=[community],
        lat=23.1261,
        lon=113.2710,
        offers_pickup=False,
        offers_dine_in=False,
    )
    closed = make.site(serves=[community], lat=23.1262, lon=113.2710)
    closed.active = False
    make.session.add(closed)
    found = nearby_sites(session=make.session, lat=23.1255, lon=113.2710, limit=3)
    assert [site.id for site, _ in found] == [near.id, middle.id, far.id]
    assert [round(metres, -1) for _, metres in found] == [60, 500, 1610]


def test_a_sites_rating_counts_the_last_thirty_days(make, session):
    site, dishes, _ = make.world()
    other_site = make.site()
    today = make.today

    def rating(n, site_id, days_ago, good):
        placed = order(make, make.elder(site), site, dishes[0], ServiceMode.dine_in, f"r{n}")
        session.add(
            MealRating(
                order_id=placed.id,
                elder_id=placed.elder_id,
                site_id=site_id,
                service_date=today - timedelta(days=days_ago),
                good=good,
                rated_at=make.clock.now(),
            )
        )

    rating(1, site.id, 1, True)
    rating(2, site.id, 2, True)
    rating(3, site.id, 29, False)
    rating(4, site.id, 31, False)  # too old to count
    rating(5, other_site.id, 1, False)
    session.flush()
    found = site_ratings(session=session, site_ids=[site.id, other_site.id], today=today)
    assert (found[site.id].good, found[site.id].total) == (2, 3)
    assert found[site.id].percent_good == 67
    assert (found[other_site.id].good, found[other_site.id].total) == (0, 1)
    assert site_ratings(session=session, site_ids=[], today=today) == {}
