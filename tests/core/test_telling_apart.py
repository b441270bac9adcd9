"""Two elders of one name told apart wherever staff pick one: found by the last four characters
of her ID card number (as typed: 002x, full-width digits), and listed with her age, community
and ID tail (the registry's search, the phone-in form's list)."""

from datetime import date

from core.elders import search_elders
from core.orders import orderable_elders
from core.schemas import ElderCreate
from tests.elder_files import id_number
from usecases.elders import register_elder


def two_of_one_name(session, clock, make):
    east, west = make.community(name="东山社区"), make.community(name="西关社区")
    made = []
    for community, born, serial in ((east, date(1941, 7, 25), 12), (west, date(1935, 12, 1), 7)):
        number = id_number(born, serial)
        made.append(
            register_elder(
                session=session,
                clock=clock,
                actor="admin",
                elder_in=ElderCreate(
                    name="陈秀英",
                    address="人民路1号",
                    lat=23.1,
                    lon=113.2,
                    community_id=community.id,
                    birth_date=born,
                    id_number=number,
                ),
            )
        )
    return made


def test_the_registry_finds_an_elder_by_her_id_tail_and_shows_age_and_tail(session, clock, make):
    first, second = two_of_one_name(session, clock, make)
    on = clock.now().date()
    both = search_elders(session=session, on=on, community_ids=None, query="陈秀英")
    assert [(r.age, r.community, r.id_tail) for r in both.rows] == [
        (85, "东山社区", first.id_number_tail),
        (90, "西关社区", second.id_number_tail),
    ]
    for typed in (
        second.id_number_tail,
        second.id_number_tail.lower(),
        "０" + second.id_number_tail[1:],
    ):
        found = search_elders(session=session, on=on, community_ids=None, query=typed)
        assert [r.id for r in found.rows] == [second.id], typed


def test_the_phone_in_list_narrows_to_an_id_tail_a_name_or_an_elder_number(session, clock, make):
    first, second = two_of_one_name(session, clock, make)
    on = clock.now().date()
    every = orderable_elders(session=session, on=on)
    assert [(e.name, e.age, e.community, e.id_tail) for e in every] == [
        ("陈秀英", 85, "东山社区", first.id_number_tail),
        ("陈秀英", 90, "西关社区", second.id_number_tail),
    ]
    assert [e.id for e in orderable_elders(session=session, on=on, query=first.id_number_tail)] == [
        first.id
    ]
    assert [e.id for e in orderable_elders(session=session, on=on, query=str(second.id))] == [
        second.id
    ]
    assert orderable_elders(session=session, on=on, query="王") == []


def test_the_counters_walk_in_finder_finds_her_by_id_tail_with_age_and_community(
    session, clock, make
):
    from usecases.counter import walk_in_elder, walk_in_elders

    first, second = two_of_one_name(session, clock, make)
    on = clock.now().date()
    both = walk_in_elders(session=session, query="陈秀英", on=on)
    assert [(e.age, e.community, e.id_tail) for e in both] == [
        (85, "东山社区", first.id_number_tail),
        (90, "西关社区", second.id_number_tail),
    ]
    found = walk_in_elders(session=session, query=second.id_number_tail.lower(), on=on)
    assert [e.elder_id for e in found] == [second.id]
    assert walk_in_elder(session=session, elder_id=first.id, on=on).community == "东山社区"
