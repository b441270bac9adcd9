"""The kitchen's production list through the API, as CSV and as a page."""

from datetime import datetime, time

import pytest
from fastapi.testclient import TestClient

from core.clock import FixedClock
from core.cutoff import run_cutoff
from core.orders import place_order
from core.schemas import MealSlotCreate
from core.types import ServiceMode, SiteKind, Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import CUTOFF_LIMITS, ORDER_LIMITS, Factory, log_in, make_staff


@pytest.fixture
def setup(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        community = make.community()
        kitchen = make.site(
            serves=[community],
            kind=SiteKind.central_kitchen,
            slots=[
                MealSlotCreate(
                    slot=Slot.lunch,
                    cutoff_time=time(9, 0),
                    delivery_start=time(11, 0),
                    delivery_end=time(12, 0),
                )
            ],
        )
        dish = make.dish(name_zh="清蒸鲈鱼套餐", name_en="Steamed sea bass set")
        make.menu(kitchen, [dish])
        for variant in ("regular", "regular", "minced"):
            elder = make.elder(community, texture="minced" if variant == "minced" else "regular")
            place_order(
                session=session,
                clock=clock,
                elder_id=elder.id,
                site_id=kitchen.id,
                service_date=make.today,
                slot=Slot.lunch,
                dish_id=dish.id,
                variant=variant,
                mode=ServiceMode.delivery,
                idempotency_key=f"k{elder.id}",
                **ORDER_LIMITS,
            )
        canteen = make.site(serves=[community])
        ids = kitchen.id, canteen.id
        admin = make_staff(make, "admin")
    with TestClient(web_app(database=empty_database, clock=clock)) as client:
        assert log_in(client, admin.username).status_code == 303
        yield client, ids, empty_database, clock


def test_the_list_is_marked_not_final_until_cutoff_then_final(setup):
    client, (kitchen_id, _), database, clock = setup
    body = client.get(f"/api/v1/kitchens/{kitchen_id}/production?date=2026-11-25").json()
    assert body["final"] is False and body["portions"] == 3
    assert {(line["variant"], line["portions"]) for line in body["lines"]} == {
        ("regular", 2),
        ("minced", 1),
    }
    assert [p["variant"] for p in body["special"]] == ["minced"]
    with database.transaction() as session:
        run_cutoff(
            session=session,
            clock=clock,
            site_id=kitchen_id,
            service_date=clock.now().date(),
            slot=Slot.lunch,
            early=True,
            **CUTOFF_LIMITS,
        )
    assert (
        client.get(f"/api/v1/kitchens/{kitchen_id}/production?date=2026-11-25").json()["final"]
        is True
    )


def test_csv_download_and_the_wall_page(setup):
    client, (kitchen_id, _), _, _ = setup
    download = client.get(
        f"/api/v1/kitchens/{kitchen_id}/files/production.csv?date=2026-11-25&lang=zh_CN"
    )
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    text = download.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("菜品,做法") and "清蒸鲈鱼套餐,碎食" in text
    wall = client.get(
        f"/kitchens/{kitchen_id}/production?date=2026-11-25&lang=en",
        headers={"accept": "text/html"},
    )
    assert wall.status_code == 200 and "NOT FINAL" in wall.text and "minced" in wall.text


def test_a_canteen_or_unknown_id_is_a_translated_404(setup):
    client, (_, canteen_id), _, _ = setup
    for site_id in (canteen_id, 98765):
        response = client.get(f"/api/v1/kitchens/{site_id}/production?lang=en")
        assert response.status_code == 404
        assert response.json()["message"] == "We could not find this meal site."


def test_lists_and_labels_download_as_files(setup):
    client, (kitchen_id, _), _, _ = setup
    for name in ("packing.csv", "purchase.pdf", "labels-a4.pdf", "labels-thermal.pdf"):
        response = client.get(f"/api/v1/kitchens/{kitchen_id}/files/{name}?date=2026-11-25")
        assert response.status_code == 200, name
        assert name.rsplit(".", 1)[0] in response.headers["content-disposition"]
    assert client.get(f"/api/v1/kitchens/{kitchen_id}/files/secrets.txt").status_code == 422
    page = client.get(
        f"/kitchens/{kitchen_id}/production?date=2026-11-25&lang=zh_CN",
        headers={"accept": "text/html"},
    )
    assert "labels-thermal.pdf" in page.text and "装箱清单" in page.text
