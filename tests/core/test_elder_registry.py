"""The registry's services: searching elders (masked, within communities), changing a record,
family links revoked and approved, meal pauses, and the welfare alerts board. Bad input is
refused with a typed, translated error that names its field and writes nothing."""

from datetime import date, timedelta

import pytest

from core import errors
from core.elders import (
    approve_link,
    categories_on,
    chat_user_for,
    create_elder,
    elder_record,
    end_pause,
    get_elder,
    link_elder,
    linked_elders,
    mask_address,
    mask_phone,
    pause_meals,
    revoke_link,
    search_elders,
    update_elder,
)
from core.models import ElderPause
from core.orders import place_order
from core.schemas import ElderUpdate
from core.types import AlertStatus, Category, ElderStatus, LinkRelation, Slot
from core.welfare import (
    AlertClosed,
    acknowledge,
    alert_board,
    close_alert,
    escalate_due,
    raise_alert,
)
from tests.conftest import row_counts
from tests.factories import ORDER_LIMITS, SETTINGS, WELFARE_LINE


def refused(session, error_type, call):
    before = row_counts(session)
    with pytest.raises(error_type) as caught:
        call()
    assert row_counts(session) == before
    assert caught.value.render("zh_CN") != caught.value.render("en")
    return caught.value


def record_of(session, elder, **changes) -> dict:
    """An elder's record as the edit form would send it, with some changes."""
    from core.elders import elder_input

    values = elder_input(elder_record(session=session, elder_id=elder.id)).model_dump()
    values.update(changes)
    return values


def test_masks_keep_only_enough_to_recognise_the_record():
    assert mask_phone("139 1234 5678") == "139****5678"
    assert mask_phone("+86 139-1234-5678") == "139****5678"
    assert mask_phone(None) == ""
    assert mask_address("越秀区人民路12号3栋401") == "越秀区人民路****"
    assert "12" not in mask_address("人民路12号")


def test_a_search_finds_by_name_phone_or_community_only_within_ones_communities(make, session):
    east, west = make.community(name="东山社区"), make.community(name="西关社区")
    li = make.elder(east, name="李秀英", phone="139 1234 5678", address="人民路12号")
    wang = make.elder(west, name="王秀兰", categories=[Category.minimum_living])
    chen = make.elder(west, name="陈伯")
    chen.status = ElderStatus.inactive
    session.add(chen)
    on = make.today

    def names(**criteria):
        found = search_elders(session=session, on=on, **criteria)
        return sorted(row.name for row in found.rows)

    everyone = {"community_ids": None}
    assert names(query="秀", **everyone) == ["李秀英", "王秀兰"]
    assert names(query="1234", **everyone) == ["李秀英"]  # digits, however the phone is written
    assert names(query="139-1234", **everyone) == ["李秀英"]
    assert names(query="西关", **everyone) == ["王秀兰", "陈伯"]
    assert names(query="%", **everyone) == []  # not a wildcard
    assert names(category=Category.minimum_living, **everyone) == ["王秀兰"]
    assert names(status=ElderStatus.inactive, **everyone) == ["陈伯"]
    # A community worker of the east community finds nobody from the west.
    assert names(query="秀", community_ids={east.id}) == ["李秀英"]
    assert names(community_ids=set()) == []
    row = search_elders(session=session, on=on, community_ids={east.id}).rows[0]
    assert (row.id, row.phone_masked, row.community) == (li.id, "139****5678", "东山社区")
    assert "12" not in row.address_masked and "5678" not in row.address_masked
    assert not hasattr(row, "phone") and not hasattr(row, "address")
    page = search_elders(session=session, on=on, community_ids=None, limit=1, offset=1)
    assert page.total == 3 and len(page.rows) == 1
    assert wang.id != li.id


def test_categories_shown_in_the_list_are_those_valid_on_the_day(make, session):
    community = make.community()
    elder = make.elder(community, categories=[])
    changed = update_elder(
        session=session,
        clock=make.clock,
        elder_id=elder.id,
        elder_in=record_of(
            session,
            elder,
            categories=[
                {"category": "dibao", "valid_from": "2024-01-01", "valid_to": "2026-11-24"},
                {"category": "living_alone", "valid_from": "2026-11-25"},
            ],
        ),
    )
    assert changed == ["categories"]
    row = search_elders(session=session, on=make.today, community_ids=None).rows[0]
    assert row.categories == (Category.living_alone,)
    assert categories_on(session=session, elder_id=elder.id, on=date(2026, 11, 24)) == {
        Category.minimum_living
    }


def test_changing_a_record_says_which_fields_changed_and_keeps_the_rest(make, session):
    community, other = make.community(), make.community()
    elder = make.elder(community, name="李秀英")
    assert elder.consent_at is None
    changed = update_elder(
        session=session,
        clock=make.clock,
        elder_id=elder.id,
        elder_in=record_of(
            session,
            elder,
            address="人民路99号",
            lat=23.2,
            community_id=other.id,
            allergies=["egg"],
            texture="soft",
            consent=True,
            emergency_contacts=[{"name": "李嘉欣", "relation": "女儿", "phone": "13800001234"}],
        ),
    )
    assert sorted(changed) == sorted(
        ["address", "lat", "community_id", "allergies", "texture", "consent", "emergency_contacts"]
    )
    elder = get_elder(session=session, elder_id=elder.id)
    assert (elder.address, elder.community_id, elder.allergies) == ("人民路99号", other.id, ["egg"])
    assert elder.consent_at == make.clock.now()
    assert [c.phone for c in elder_record(session=session, elder_id=elder.id).contacts] == [
        "13800001234"
    ]
    unchanged = update_elder(
        session=session, clock=make.clock, elder_id=elder.id, elder_in=record_of(session, elder)
    )
    assert unchanged == []
    withdrawn = update_elder(
        session=session,
        clock=make.clock,
        elder_id=elder.id,
        elder_in=record_of(session, elder, consent=False),
    )
    assert (
        withdrawn == ["consent"]
        and get_elder(session=session, elder_id=elder.id).consent_at is None
    )


@pytest.mark.parametrize(
    ("changes", "error_type", "path"),
    [
        ({"lat": 123.0}, errors.InvalidInput, "lat"),
        ({"lon": "east"}, errors.InvalidInput, "lon"),
        ({"name": ""}, errors.InvalidInput, "name"),
        ({"status": "gone"}, errors.InvalidInput, "status"),
        (
            {
                "categories": [
                    {"category": "dibao", "valid_from": "2026-05-01", "valid_to": "2026-04-30"}
                ]
            },
            errors.PeriodReversed,
            "categories.0.valid_to",
        ),
        (
            {"emergency_contacts": [{"name": "女儿", "relation": "女儿", "phone": "call"}]},
            errors.InvalidInput,
            "emergency_contacts.0.phone",
        ),
        ({"community_id": 987_654}, errors.CommunityNotFound, "community_id"),
        ({"home_site_id": 987_654}, errors.SiteNotFound, "home_site_id"),
        ({"phone": "+86 139 0000 7777"}, errors.AlreadyExists, "phone"),
    ],
)
def test_a_bad_change_is_refused_naming_its_field_and_changes_nothing(
    make, session, changes, error_type, path
):
    community = make.community()
    make.elder(community, phone="13900007777")
    elder = make.elder(community, name="李秀英")
    values = record_of(session, elder, **changes)
    error = refused(
        session,
        error_type,
        lambda: update_elder(session=session, clock=make.clock, elder_id=elder.id, elder_in=values),
    )
    assert (error.params.get("field_path") or error.params["field_code"]) == path
    assert get_elder(session=session, elder_id=elder.id).name == "李秀英"


def test_a_new_elder_with_consent_records_when_it_was_given(make, session):
    community = make.community()
    elder = create_elder(
        session=session,
        clock=make.clock,
        elder_in=dict(
            name="周伯",
            address="人民路1号",
            lat=23.1,
            lon=113.2,
            community_id=community.id,
            birth_date="1938-01-02",
            consent=True,
        ),
    )
    assert elder.consent_at == make.clock.now()
    assert ElderUpdate.model_fields["status"].default == ElderStatus.active


def test_a_revoked_link_stops_the_chat_and_approving_it_restores_it(make, session):
    _, _, elder = make.world()
    other = make.elder(make.community())
    son = chat_user_for(
        session=session,
        telegram_user_id=7_770_001,
        name="李明",
        language="zh_CN",
        clock=make.clock,
    )
    link = link_elder(
        session=session,
        chat_user_id=son.id,
        elder_id=elder.id,
        relation=LinkRelation.family,
        verified_by="code:staff:wang",
        clock=make.clock,
    )
    refused(
        session,
        errors.LinkNotFound,
        lambda: revoke_link(session=session, clock=make.clock, elder_id=other.id, link_id=link.id),
    )
    revoke_link(session=session, clock=make.clock, elder_id=elder.id, link_id=link.id)
    assert linked_elders(session=session, chat_user_id=son.id) == []
    (shown,) = elder_record(session=session, elder_id=elder.id).links
    assert (shown.name, shown.revoked_at) == ("李明", make.clock.now())
    make.clock.advance(timedelta(minutes=5))
    approve_link(
        session=session, clock=make.clock, elder_id=elder.id, link_id=link.id, by="staff:wang"
    )
    assert [e.id for e in linked_elders(session=session, chat_user_id=son.id)] == [elder.id]
    (shown,) = elder_record(session=session, elder_id=elder.id).links
    assert (shown.revoked_at, shown.verified_by) == (None, "staff:wang")


def test_paused_meals_cannot_be_ordered_and_pauses_do_not_overlap_or_start_in_the_past(
    make, session
):
    site, dishes, elder = make.world()
    today = make.today
    pause = pause_meals(
        session=session,
        clock=make.clock,
        elder_id=elder.id,
        pause_in={
            "start_date": today + timedelta(days=1),
            "end_date": today + timedelta(days=2),
            "reason": "住院",
        },
    )
    with pytest.raises(errors.ElderPaused):
        place_order(
            session=session,
            clock=make.clock,
            elder_id=elder.id,
            site_id=site.id,
            service_date=today + timedelta(days=1),
            slot=Slot.lunch,
            dish_id=dishes[0].id,
            variant="regular",
            idempotency_key="paused-1",
            **ORDER_LIMITS,
        )
    for values, error_type, field in [
        (
            {"start_date": today - timedelta(days=1), "end_date": today},
            errors.PauseInPast,
            "start_date",
        ),
        (
            {"start_date": today, "end_date": today + timedelta(days=5)},
            errors.PausesOverlap,
            "start_date",
        ),
        (
            {"start_date": today + timedelta(days=9), "end_date": today + timedelta(days=8)},
            errors.PeriodReversed,
            "end_date",
        ),
        ({"start_date": "soon", "end_date": today}, errors.InvalidInput, "start_date"),
    ]:
        error = refused(
            session,
            error_type,
            lambda values=values: pause_meals(
                session=session, clock=make.clock, elder_id=elder.id, pause_in=values
            ),
        )
        assert error.params["field_code"] == field
    assert pause.reason == "住院"


def test_ending_a_pause_resumes_meals_today(make, session):
    _, _, elder = make.world()
    today = make.today
    under_way = ElderPause(
        elder_id=elder.id, start_date=today - timedelta(days=3), end_date=today + timedelta(days=3)
    )
    over = ElderPause(
        elder_id=elder.id, start_date=today - timedelta(days=9), end_date=today - timedelta(days=5)
    )
    session.add_all([under_way, over])
    session.flush()
    coming = pause_meals(
        session=session,
        clock=make.clock,
        elder_id=elder.id,
        pause_in={"start_date": today + timedelta(days=5), "end_date": today + timedelta(days=6)},
    )
    assert end_pause(
        session=session, clock=make.clock, elder_id=elder.id, pause_id=under_way.id
    ) == ("ended")
    assert under_way.end_date == today - timedelta(days=1)
    assert end_pause(session=session, clock=make.clock, elder_id=elder.id, pause_id=coming.id) == (
        "cancelled"
    )
    assert session.get(ElderPause, coming.id) is None
    refused(
        session,
        errors.PauseOver,
        lambda: end_pause(session=session, clock=make.clock, elder_id=elder.id, pause_id=over.id),
    )
    refused(
        session,
        errors.PauseNotFound,
        lambda: end_pause(session=session, clock=make.clock, elder_id=elder.id, pause_id=987_654),
    )


def _alert_for(make, session, community=None, key="a"):
    community = community or make.community()
    site = make.site(serves=[community])
    dishes = [make.dish()]
    make.menu(site, dishes)
    elder = make.elder(community)
    order = place_order(
        session=session,
        clock=make.clock,
        elder_id=elder.id,
        site_id=site.id,
        service_date=make.today,
        slot=Slot.lunch,
        dish_id=dishes[0].id,
        variant="regular",
        idempotency_key=f"alert-{key}",
        **ORDER_LIMITS,
    )
    return elder, raise_alert(
        session=session, clock=make.clock, order=order, by="rider:1", **WELFARE_LINE
    )


def test_the_board_shows_open_alerts_with_their_steps_within_ones_communities(make, session):
    east, west = make.community(name="东山"), make.community(name="西关")
    elder, alert = _alert_for(make, session, east, "east")
    _, other = _alert_for(make, session, west, "west")
    daughter = chat_user_for(
        session=session,
        telegram_user_id=7_770_002,
        name="李嘉欣",
        language="zh_CN",
        clock=make.clock,
    )
    link_elder(
        session=session,
        chat_user_id=daughter.id,
        elder_id=elder.id,
        relation=LinkRelation.family,
        verified_by="test",
        clock=make.clock,
    )
    make.clock.advance(timedelta(minutes=1))
    escalate_due(
        session=session, clock=make.clock, **WELFARE_LINE
    )  # passed on at once already: nothing due
    make.clock.advance(timedelta(minutes=2))
    acknowledge(
        session=session,
        clock=make.clock,
        alert_id=alert.id,
        chat_user_id=daughter.id,
        how="coming",
        duty_chat_id=SETTINGS.duty_chat_id,
    )
    (shown,) = alert_board(session=session, community_ids={east.id}, duty_phone=SETTINGS.duty_phone)
    assert (shown.id, shown.elder, shown.community) == (alert.id, elder.name, "东山")
    assert shown.status == AlertStatus.acknowledged
    assert (shown.acknowledged_by, shown.acknowledged_at) == ("李嘉欣", make.clock.now())
    # Nobody in the family used the chat, and the community has no worker in it: the alert
    # went to the duty line at once, and its record says why.
    assert [s.kind for s in shown.steps] == [
        "raised",
        "worker_unreachable",
        "escalated_to_duty",
        "acknowledged_coming",
    ]
    assert {
        a.id
        for a in alert_board(session=session, community_ids=None, duty_phone=SETTINGS.duty_phone)
    } == {alert.id, other.id}
    assert alert_board(session=session, community_ids=set(), duty_phone=SETTINGS.duty_phone) == []


def test_an_alert_is_closed_once_with_its_outcome(make, session):
    _, alert = _alert_for(make, session)
    refused(
        session,
        errors.InvalidInput,
        lambda: close_alert(
            session=session, clock=make.clock, alert_id=alert.id, by="staff:wang", outcome="   "
        ),
    )
    close_alert(
        session=session,
        clock=make.clock,
        alert_id=alert.id,
        by="staff:wang",
        outcome="在社区医院，平安",
    )
    assert alert_board(session=session, community_ids=None, duty_phone=SETTINGS.duty_phone) == []
    since = make.clock.now() - timedelta(hours=1)
    (closed,) = alert_board(
        session=session,
        community_ids=None,
        include_closed_since=since,
        duty_phone=SETTINGS.duty_phone,
    )
    assert (closed.closed_by, closed.outcome) == ("wang", "在社区医院，平安")
    assert closed.steps[-1].kind == "closed"
    refused(
        session,
        AlertClosed,
        lambda: close_alert(
            session=session, clock=make.clock, alert_id=alert.id, by="staff:li", outcome="again"
        ),
    )
