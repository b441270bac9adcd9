"""A programme's set-up through its use cases: communities in streets and districts with ids,
sites with service areas and slots, riders, community workers and staff accounts; each change
audited, each refusal translated and writing nothing."""

from datetime import time, timedelta

import pytest
from sqlmodel import select

from core.accounts import Role, StaffAccountCreate, StaffSession
from core.audit import ACTIONS, AuditEntry
from core.errors import CommunityNotFound, InvalidInput
from core.models import Community, CommunityWorker, Order, SiteServiceArea, WelfareAlertStep
from core.schemas import CommunityCreate, MealSlotCreate, RiderCreate, SiteCreate
from core.types import AlertLevel, ServiceMode, SiteKind, Slot
from core.welfare import may_answer, raise_alert
from tests.conftest import row_counts
from tests.factories import PASSWORD, SETTINGS, WELFARE_LINE, closed_lunch, make_staff
from usecases import accounts, setup
from usecases.elders import chat_user_for

ADMIN = "staff:admin"


def _community(**overrides) -> CommunityCreate:
    values = dict(
        code="YX-BJ",
        name="北京街社区",
        street="北京街",
        district="越秀区",
        city="广州市",
        lat=23.125,
        lon=113.27,
    )
    values.update(overrides)
    return CommunityCreate(**values)


def _pending(session) -> list[AuditEntry]:
    """The audit entries this test's transaction recorded (they join the chain at its commit,
    which a rolled-back test never reaches)."""
    return [entry for _transaction, entry in session.info.get("audit_pending", [])]


def _actions(session) -> list[str]:
    return [entry.action for entry in _pending(session)]


def test_a_street_of_the_same_name_in_another_district_is_another_street(session, make):
    yuexiu = setup.create_community(
        session=session, clock=make.clock, actor=ADMIN, community_in=_community()
    )
    also_yuexiu = setup.create_community(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        community_in=_community(code="YX-BJ2", name="北京街第二社区"),
    )
    haizhu = setup.create_community(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        community_in=_community(code="HZ-BJ", district="海珠区"),
    )
    assert yuexiu.street_id == also_yuexiu.street_id
    assert yuexiu.district_id == also_yuexiu.district_id
    assert haizhu.street_id != yuexiu.street_id
    assert haizhu.district_id != yuexiu.district_id
    streets = [s for s in setup.list_streets(session=session) if s.name == "北京街"]
    assert {s.district_id for s in streets} == {yuexiu.district_id, haizhu.district_id}
    assert _actions(session)[-3:] == ["create_community"] * 3


def test_moving_a_community_to_another_district_moves_its_ids_and_keeps_its_code(session, make):
    community = setup.create_community(
        session=session, clock=make.clock, actor=ADMIN, community_in=_community()
    )
    before = (community.street_id, community.district_id)
    moved = setup.update_community(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        community_id=community.id,
        community_in={**_community(district="海珠区").model_dump(exclude={"code"})},
    )
    assert moved.code == "YX-BJ"
    assert moved.district == "海珠区"
    assert (moved.street_id, moved.district_id) != before
    entry = _pending(session)[-1]
    assert (entry.action, entry.subject, entry.detail) == (
        "update_community",
        f"community:{community.id}",
        "district",
    )


def test_a_community_with_a_blank_name_is_refused_with_its_field_and_nothing_is_written(
    session, make
):
    community = setup.create_community(
        session=session, clock=make.clock, actor=ADMIN, community_in=_community()
    )
    counts = row_counts(session)
    with pytest.raises(InvalidInput) as refused:
        setup.update_community(
            session=session,
            clock=make.clock,
            actor=ADMIN,
            community_id=community.id,
            community_in={**_community().model_dump(exclude={"code"}), "name": "  "},
        )
    assert refused.value.params["field_code"] == "name"
    assert "名称" in refused.value.render("zh_CN") or "名" in refused.value.render("zh_CN")
    assert row_counts(session) == counts


def _site(community: Community, **overrides) -> SiteCreate:
    values = dict(
        code="K1",
        name="越秀中央厨房",
        kind=SiteKind.central_kitchen,
        address="越华路1号",
        lat=23.13,
        lon=113.27,
        community_id=community.id,
        phone="020-8888 0001",
        offers_delivery=True,
        serves_community_ids=[community.id],
        slots=[
            MealSlotCreate(
                slot=Slot.lunch,
                cutoff_time=time(9, 30),
                delivery_start=time(11, 0),
                delivery_end=time(12, 30),
            )
        ],
    )
    values.update(overrides)
    return SiteCreate(**values)


def test_a_kitchen_cooks_for_itself_and_a_canteen_is_cooked_by_a_kitchen(session, make):
    community = make.community()
    kitchen = setup.create_site(
        session=session, clock=make.clock, actor=ADMIN, site_in=_site(community)
    )
    assert kitchen.kitchen_id == kitchen.id
    canteen = setup.create_site(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        site_in=_site(community, code="C1", kind=SiteKind.canteen, kitchen_id=kitchen.id),
    )
    assert canteen.kitchen_id == kitchen.id
    with pytest.raises(setup.NotAKitchen) as refused:
        setup.create_site(
            session=session,
            clock=make.clock,
            actor=ADMIN,
            site_in=_site(community, code="C2", kind=SiteKind.canteen, kitchen_id=canteen.id),
        )
    assert canteen.name in refused.value.render("en")
    assert refused.value.params["field_code"] == "kitchen_id"


def test_a_sites_service_area_and_slots_change_and_each_change_is_audited(session, make):
    home, other = make.community(), make.community()
    kitchen = setup.create_site(session=session, clock=make.clock, actor=ADMIN, site_in=_site(home))
    values = {
        **_site(home).model_dump(exclude={"code", "slots", "serves_community_ids"}),
        "serves_community_ids": [other.id],
    }
    setup.update_site(
        session=session, clock=make.clock, actor=ADMIN, site_id=kitchen.id, site_in=values
    )
    served = session.exec(
        select(SiteServiceArea.community_id).where(SiteServiceArea.site_id == kitchen.id)
    ).all()
    assert served == [other.id]
    setup.set_meal_slot(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        site_id=kitchen.id,
        slot_in={
            "slot": "lunch",
            "cutoff_time": "10:00",
            "delivery_start": "11:30",
            "delivery_end": "13:00",
        },
    )
    setup.set_meal_slot(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        site_id=kitchen.id,
        slot_in={
            "slot": "dinner",
            "cutoff_time": "15:00",
            "cutoff_days_before": 1,
            "delivery_start": "17:00",
            "delivery_end": "18:00",
        },
    )
    slots = setup.site_slots(session=session, site_id=kitchen.id)
    assert [(s.slot, s.cutoff_time) for s in slots] == [
        ("lunch", time(10, 0)),
        ("dinner", time(15, 0)),
    ]
    setup.remove_meal_slot(
        session=session, clock=make.clock, actor=ADMIN, site_id=kitchen.id, slot=Slot.dinner
    )
    assert [s.slot for s in setup.site_slots(session=session, site_id=kitchen.id)] == ["lunch"]
    assert _actions(session)[-5:] == [
        "create_site",
        "update_site",
        "update_meal_slot",
        "add_meal_slot",
        "remove_meal_slot",
    ]


def test_a_delivery_window_that_ends_before_it_starts_is_refused(session, make):
    site = make.site()
    counts = row_counts(session)
    with pytest.raises(InvalidInput):
        setup.set_meal_slot(
            session=session,
            clock=make.clock,
            actor=ADMIN,
            site_id=site.id,
            slot_in={
                "slot": "lunch",
                "cutoff_time": "09:30",
                "delivery_start": "12:00",
                "delivery_end": "11:00",
            },
        )
    assert row_counts(session) == counts


def test_a_meal_with_orders_to_come_cannot_be_taken_off_its_site(session, make):
    from usecases.ordering import place_order

    site, dishes, elder = make.world()
    place_order(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        idempotency_key="setup-k1",
    )
    counts = row_counts(session)
    with pytest.raises(setup.SlotInUse) as refused:
        setup.remove_meal_slot(
            session=session, clock=make.clock, actor=ADMIN, site_id=site.id, slot=Slot.lunch
        )
    assert site.name in refused.value.render("zh_CN")
    assert row_counts(session) == counts
    setup.remove_meal_slot(
        session=session, clock=make.clock, actor=ADMIN, site_id=site.id, slot=Slot.dinner
    )
    assert [s.slot for s in setup.site_slots(session=session, site_id=site.id)] == ["lunch"]


def test_a_rider_belongs_to_a_central_kitchen_and_their_shift_must_end_after_it_starts(
    session, make
):
    canteen = make.site()
    kitchen = make.site(kind=SiteKind.central_kitchen)
    rider_in = dict(
        name="陈师傅",
        phone="13900000001",
        kitchen_id=kitchen.id,
        mode="ebike",
        capacity=25,
        shift_start="10:30",
        shift_end="13:00",
    )
    rider = setup.create_rider(
        session=session, clock=make.clock, actor=ADMIN, rider_in=RiderCreate(**rider_in)
    )
    assert (rider.capacity, rider.mode) == (25, "ebike")
    with pytest.raises(setup.NotAKitchen):
        setup.create_rider(
            session=session,
            clock=make.clock,
            actor=ADMIN,
            rider_in={**rider_in, "kitchen_id": canteen.id},
        )
    with pytest.raises(setup.ShiftOutOfOrder) as refused:
        setup.update_rider(
            session=session,
            clock=make.clock,
            actor=ADMIN,
            rider_id=rider.id,
            rider_in={**rider_in, "shift_end": "09:00"},
        )
    assert refused.value.render("zh_CN") != refused.value.render("en")
    setup.update_rider(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        rider_id=rider.id,
        rider_in={**rider_in, "capacity": 40, "active": False},
    )
    assert (rider.capacity, rider.active) == (40, False)
    entry = _pending(session)[-1]
    assert (entry.action, entry.detail) == ("update_rider", "capacity,active")


def test_a_community_worker_needs_a_community_that_exists(session, make):
    community = make.community()
    worker = setup.create_worker(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        worker_in={"community_id": community.id, "name": "王社工", "phone": "13600000001"},
    )
    assert worker.community_id == community.id
    with pytest.raises(CommunityNotFound):
        setup.create_worker(
            session=session,
            clock=make.clock,
            actor=ADMIN,
            worker_in={"community_id": 99_999, "name": "李社工", "phone": "13600000002"},
        )
    assert _actions(session)[-1] == "create_worker"


def test_a_worker_of_two_communities_gets_the_escalation_of_an_elder_in_the_second(session, make):
    home = make.community()
    site, dishes, _ = make.world()
    chat = chat_user_for(
        session=session,
        telegram_user_id=5_550_002,
        name="王社工",
        language="zh_CN",
        clock=make.clock,
    )
    worker = setup.create_worker(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        worker_in={
            "community_id": home.id,
            "community_ids": [site.community_id],
            "name": "王社工",
            "phone": "13600000001",
        },
    )
    worker.chat_user_id = chat.id
    session.add(worker)
    assert setup.worker_communities(session=session, worker_id=worker.id) == sorted(
        [home.id, site.community_id]
    )
    (order_id,) = closed_lunch(make, site, dishes[0], [("张秀兰", None, ServiceMode.delivery)])
    alert = raise_alert(
        session=session,
        clock=make.clock,
        order=session.get_one(Order, order_id),
        by="rider:1",
        **WELFARE_LINE,
    )
    assert alert.level == AlertLevel.community_worker
    steps = session.exec(
        select(WelfareAlertStep.kind, WelfareAlertStep.actor).where(
            WelfareAlertStep.alert_id == alert.id
        )
    ).all()
    assert ("escalated_to_worker", f"worker:{worker.id}") in steps
    assert may_answer(session, alert, chat.id, duty_chat_id=SETTINGS.duty_chat_id)
    # Dropping the second community stops her alerts there.
    setup.update_worker(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        worker_id=worker.id,
        worker_in={"community_id": home.id, "name": "王社工", "phone": "13600000001"},
    )
    assert not may_answer(session, alert, chat.id, duty_chat_id=SETTINGS.duty_chat_id)
    assert _pending(session)[-1].detail == "community_ids"


def test_a_worker_written_without_her_list_still_covers_her_own_community(session, make):
    community = make.community()
    worker = CommunityWorker(community_id=community.id, name="王社工", phone="13600000001")
    session.add(worker)
    session.flush()
    assert setup.worker_communities(session=session, worker_id=worker.id) == [community.id]


def test_a_worker_with_an_unknown_community_is_refused_and_nothing_is_written(session, make):
    home = make.community()
    before = row_counts(session)
    with pytest.raises(CommunityNotFound):
        setup.create_worker(
            session=session,
            clock=make.clock,
            actor=ADMIN,
            worker_in={
                "community_id": home.id,
                "community_ids": [99_999],
                "name": "李社工",
                "phone": "13600000002",
            },
        )
    assert row_counts(session) == before


def test_the_admin_adds_disables_and_resets_accounts_and_each_is_audited(session, make):
    admin = make_staff(make, "admin")
    community = make.community()
    worker = accounts.create_account(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        account_in=StaffAccountCreate(
            username="wang.li",
            password=PASSWORD,
            role=Role.community_worker,
            community_ids=[community.id],
        ),
    )
    session.add(
        StaffSession(
            token_hash="x" * 64,
            account_id=worker.id,
            created_at=make.clock.now(),
            expires_at=make.clock.now() + timedelta(hours=1),
            last_seen_at=make.clock.now(),
        )
    )
    session.flush()
    accounts.set_account_active(
        session=session,
        clock=make.clock,
        actor=ADMIN,
        account_id=worker.id,
        active=False,
        own_id=admin.id,
    )
    assert worker.active is False
    assert (
        session.exec(select(StaffSession).where(StaffSession.account_id == worker.id)).all() == []
    )
    with pytest.raises(accounts.OwnAccount):
        accounts.set_account_active(
            session=session,
            clock=make.clock,
            actor=ADMIN,
            account_id=admin.id,
            active=False,
            own_id=admin.id,
        )
    reset = accounts.reset_password(
        session=session, clock=make.clock, actor=ADMIN, account_id=worker.id
    )
    assert len(reset.password) >= 12
    assert reset.password not in worker.password_hash
    rows = {row.username: row for row in accounts.list_accounts(session=session)}
    assert rows["wang.li"].community_ids == [community.id]
    assert rows["wang.li"].active is False
    assert _actions(session)[-3:] == ["create_account", "disable_account", "reset_password"]


def test_a_second_account_of_one_user_name_is_refused_next_to_the_user_name(session, make):
    make_staff(make, "admin")
    account_in = {"username": "he.min", "password": PASSWORD, "role": "admin"}
    accounts.create_account(session=session, clock=make.clock, actor=ADMIN, account_in=account_in)
    counts = row_counts(session)
    with pytest.raises(accounts.UsernameTaken) as refused:
        accounts.create_account(
            session=session, clock=make.clock, actor=ADMIN, account_in=account_in
        )
    assert refused.value.params["field_code"] == "username"
    assert "he.min" in refused.value.render("zh_CN")
    assert row_counts(session) == counts


def test_every_set_up_action_has_words_for_the_audit_page():
    for action in (
        "create_community",
        "update_community",
        "create_site",
        "update_site",
        "add_meal_slot",
        "update_meal_slot",
        "remove_meal_slot",
        "create_rider",
        "update_rider",
        "create_worker",
        "update_worker",
        "create_account",
        "disable_account",
        "enable_account",
        "reset_password",
    ):
        assert action in ACTIONS, action


def test_a_meal_that_standing_orders_name_cannot_be_taken_off_its_site(session, make):
    from usecases.ordering import create_standing_order

    site, _dishes, elder = make.world()
    create_standing_order(
        session=session,
        clock=make.clock,
        settings=SETTINGS,
        elder_id=elder.id,
        site_id=site.id,
        slot=Slot.dinner,
        weekdays=[1, 2, 3, 4, 5],
        start_date=make.today,
    )
    counts = row_counts(session)
    with pytest.raises(setup.SlotInUse):
        setup.remove_meal_slot(
            session=session, clock=make.clock, actor=ADMIN, site_id=site.id, slot=Slot.dinner
        )
    assert row_counts(session) == counts
