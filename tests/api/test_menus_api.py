"""Menus over HTTP: dishes and menu items as forms and JSON for the admin, prices typed in yuan
and kept in fen, bad input refused next to its field in the reader's language, writing nothing."""

import re
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from core.audit import AuditEntry
from core.clock import FixedClock
from core.models import Dish, Menu, MenuItem, Order
from core.types import Slot
from tests.apps import web_app
from tests.conftest import SHANGHAI
from tests.factories import SETTINGS, Factory, csrf_from, log_in, make_staff
from usecases import ordering


@pytest.fixture
def world(empty_database):
    clock = FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        make = Factory(session, clock)
        site, dishes, elder = make.world()
        ids = {
            "site": site.id,
            "dishes": [d.id for d in dishes],
            "elder": elder.id,
            "admin": make_staff(make, "admin").username,
            "worker": make_staff(make, "community_worker").username,
        }
    app = web_app(database=empty_database, clock=clock)
    yield app, empty_database, clock, ids


def client_for(app, username: str) -> TestClient:
    client = TestClient(app)
    assert log_in(client, username).status_code == 303
    return client


def _error_for(html: str, field: str) -> str:
    found = re.search(rf'data-field="{field}">([^<]+)<', html)
    assert found, f"no error shown next to {field}"
    return found.group(1)


def test_the_admin_creates_a_dish_with_variants_through_the_form(world):
    app, database, _, ids = world
    with client_for(app, ids["admin"]) as admin:
        token = csrf_from(admin.get("/admin/dishes").text)
        form = {
            "csrf_token": token,
            "code": "TOFU",
            "name_zh": "麻婆豆腐",
            "name_en": "Mapo tofu",
            "allergens": ["soy"],
            "diet_tags": ["vegetarian"],
            "variant_code": ["regular", "soft", ""],
            "variant_texture": ["regular", "soft", "regular"],
            "variant_diet": ["1:low_salt"],
        }
        done = admin.post("/admin/dishes", data=form, follow_redirects=False)
        assert done.status_code == 303
        edited = admin.get(done.headers["location"] + "&lang=en")
        assert "Mapo tofu" in edited.text and "Saved." in edited.text
        # The same code again: refused next to the code, in Chinese.
        again = admin.post("/admin/dishes?lang=zh_CN", data=form)
        assert again.status_code == 409
        assert "TOFU" in _error_for(again.text, "code")
        bad = admin.post(
            "/admin/dishes?lang=en",
            data={**form, "code": "TOFU2", "variant_code": ["a b"], "variant_texture": ["soft"]},
        )
        assert bad.status_code == 422 and "variants" in _error_for(bad.text, "variants")
    with database.reading() as session:
        dish = session.exec(select(Dish).where(Dish.code == "TOFU")).one()
        assert dish.allergens == ["soy"] and dish.diet_tags == ["vegetarian"]
        assert dish.variants == [
            {"code": "regular", "texture": "regular", "diet_tags": []},
            {"code": "soft", "texture": "soft", "diet_tags": ["low_salt"]},
        ]
        assert session.exec(select(Dish).where(Dish.code == "TOFU2")).first() is None


def test_a_bad_price_is_shown_next_to_the_price_and_writes_nothing_then_the_fixed_one_is_fen(
    world,
):
    app, database, _, ids = world
    day = date(2026, 11, 30)
    with client_for(app, ids["admin"]) as admin:
        page = admin.get(f"/admin/menus?site_id={ids['site']}&week={day}&lang=zh_CN")
        assert page.status_code == 200
        form = {
            "csrf_token": csrf_from(page.text),
            "site_id": str(ids["site"]),
            "service_date": day.isoformat(),
            "slot": "lunch",
            "dish_id": str(ids["dishes"][0]),
            "variant": "regular",
            "price": "12.345",
        }
        refused = admin.post("/admin/menus/items?lang=zh_CN", data=form)
        assert refused.status_code == 422
        assert "价格" in _error_for(refused.text, "price")
        assert 'value="12.345"' in refused.text  # what was typed stays in the form
        with database.reading() as session:
            assert session.exec(select(Menu).where(Menu.service_date == day)).first() is None
        done = admin.post(
            "/admin/menus/items", data={**form, "price": "¥12.80"}, follow_redirects=False
        )
        assert done.status_code == 303
        assert "¥12.80" in admin.get(done.headers["location"]).text
    with database.reading() as session:
        item = session.exec(select(MenuItem).join(Menu).where(Menu.service_date == day)).one()
        assert item.price_fen == 1280 and isinstance(item.price_fen, int)


def test_menus_as_json_add_change_price_remove_and_copy_last_week(world):
    app, _database, _clock, ids = world
    site, dish = ids["site"], ids["dishes"][1]
    with client_for(app, ids["admin"]) as admin:
        headers = {"x-csrf-token": csrf_from(admin.get("/admin/dishes").text)}
        added = admin.post(
            f"/api/v1/sites/{site}/menus/items",
            json={
                "service_date": "2026-11-23",
                "slot": "dinner",
                "dish_id": dish,
                "variant": "soft",
                "texture": "soft",
                "price_fen": 1650,
            },
            headers=headers,
        )
        assert added.status_code == 201, added.text
        item = added.json()
        assert (item["price_fen"], item["allergens"], item["ordered"]) == (1650, ["fish"], False)
        # Bad input: a float price, an unknown slot, a missing dish.
        for body, field in [
            ({"price_fen": 12.5}, "价格"),
            ({"slot": "supper"}, "餐次"),
            ({"dish_id": 99999}, None),
        ]:
            refused = admin.post(
                f"/api/v1/sites/{site}/menus/items?lang=zh_CN",
                json={
                    "service_date": "2026-11-24",
                    "slot": "dinner",
                    "dish_id": dish,
                    "variant": "soft",
                    "price_fen": 1650,
                    **body,
                },
                headers=headers,
            )
            assert refused.status_code in (404, 422), refused.text
            if field:
                assert field in refused.json()["message"]
        changed = admin.patch(
            f"/api/v1/menu-items/{item['item_id']}", json={"price_fen": 1700}, headers=headers
        )
        assert changed.json()["price_fen"] == 1700
        assert (
            admin.patch(
                f"/api/v1/menu-items/{item['item_id']}", json={"price_fen": -1}, headers=headers
            ).status_code
            == 422
        )
        week = admin.get(f"/api/v1/sites/{site}/menus?week=2026-11-23").json()
        assert ("2026-11-23", "dinner") in {(m["service_date"], m["slot"]) for m in week}
        copied = admin.post(
            f"/api/v1/sites/{site}/menus/copy-last-week?week=2026-11-30", headers=headers
        ).json()
        assert ["2026-11-30", "dinner"] in copied["copied"]
        # The world has menus today and the next two days (25th-27th): copied to the 2nd-4th.
        assert ["2026-12-02", "lunch"] in copied["copied"] and copied["kept"] == []
        assert (
            admin.delete(f"/api/v1/menu-items/{item['item_id']}", headers=headers).status_code
            == 204
        )
        assert admin.get("/api/v1/dishes").json()[0]["code"]
        assert admin.get("/api/v1/dishes/99999").status_code == 404
    with client_for(app, ids["worker"]) as worker:
        assert worker.get(f"/api/v1/sites/{site}/menus").status_code == 403
    # Each change once in the audit log, with the price before and after; refusals none.
    with _database.reading() as session:
        entries = session.exec(
            select(AuditEntry.action, AuditEntry.detail).where(
                col(AuditEntry.action).in_(
                    ["add_menu_item", "update_menu_item", "remove_menu_item", "copy_last_week"]
                )
            )
        ).all()
    assert sorted(entries) == [
        ("add_menu_item", "1650"),
        ("copy_last_week", "2026-11-30"),
        ("remove_menu_item", ""),
        ("update_menu_item", "1650->1700"),
    ]


def test_a_new_price_does_not_change_the_price_of_orders_already_placed(world):
    app, database, clock, ids = world
    with database.transaction() as session:
        placed = ordering.place_order(
            session=session,
            clock=clock,
            settings=SETTINGS,
            elder_id=ids["elder"],
            site_id=ids["site"],
            service_date=clock.now().date(),
            slot=Slot.lunch,
            dish_id=ids["dishes"][0],
            variant="regular",
            idempotency_key="priced-before",
            quantity=2,
        ).order
    with client_for(app, ids["admin"]) as admin:
        page = admin.get(f"/admin/menus?site_id={ids['site']}&lang=en")
        assert "orders keep their price" in page.text
        done = admin.post(
            f"/admin/menu-items/{placed.menu_item_id}",
            data={"csrf_token": csrf_from(page.text), "price": "18"},
            follow_redirects=False,
        )
        assert done.status_code == 303
        bad = admin.post(
            f"/admin/menu-items/{placed.menu_item_id}?lang=en",
            data={"csrf_token": csrf_from(page.text), "price": "eighteen"},
        )
        assert bad.status_code == 422
        assert "12.50" in _error_for(bad.text, f"price_{placed.menu_item_id}")
        removed = admin.post(
            f"/admin/menu-items/{placed.menu_item_id}/delete?lang=en",
            data={"csrf_token": csrf_from(page.text)},
        )
        assert removed.status_code == 409
    with database.reading() as session:
        assert session.get(MenuItem, placed.menu_item_id).price_fen == 1800
        order = session.get(Order, placed.id)
        assert (order.unit_price_fen, order.total_fen) == (1500, 3000)


def test_the_menus_page_links_and_week_navigation(world):
    app, _, clock, ids = world
    with client_for(app, ids["admin"]) as admin:
        page = admin.get("/admin/menus?lang=en")
        assert 'href="/admin/menus"' in page.text and 'href="/dashboard"' in page.text
        assert "Copy last week" in page.text
        monday = clock.now().date() - timedelta(days=clock.now().weekday())
        assert f"week={monday - timedelta(days=7)}" in page.text
        assert admin.get("/admin/menus?week=nope").status_code == 422
        assert admin.get("/admin/menus?site_id=9999").status_code == 404


def test_copy_last_week_from_the_page_says_what_it_copied_and_kept(world):
    app, database, _, ids = world
    site = ids["site"]
    with client_for(app, ids["admin"]) as admin:
        page = admin.get(f"/admin/menus?site_id={site}&week=2026-11-30&lang=en")
        token = csrf_from(page.text)
        done = admin.post(
            "/admin/menus/copy-last-week",
            data={"csrf_token": token, "site_id": str(site), "week": "2026-12-02"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and "week=2026-11-30" in done.headers["location"]
        shown = admin.get(done.headers["location"] + "&lang=en").text
        # The world's menus on the 25th-27th, lunch and dinner: six copied, none kept.
        assert "Copied 6 menus from last week; 0 kept as they were." in shown
        again = admin.post(
            "/admin/menus/copy-last-week",
            data={"csrf_token": token, "site_id": str(site), "week": "2026-11-30"},
        )
        assert "Copied 0 menus from last week; 6 kept as they were." in again.text
        # A bad date or meal on the add form: refused next to that field.
        form = {
            "csrf_token": token,
            "site_id": str(site),
            "service_date": "2026-13-01",
            "slot": "lunch",
            "dish_id": str(ids["dishes"][0]),
            "variant": "regular",
            "price": "10",
        }
        bad_day = admin.post("/admin/menus/items?lang=en", data=form)
        assert bad_day.status_code == 422 and "date" in _error_for(bad_day.text, "service_date")
        bad_slot = admin.post(
            "/admin/menus/items?lang=en", data={**form, "service_date": "2026-12-02", "slot": "tea"}
        )
        assert bad_slot.status_code == 422 and "meal" in _error_for(bad_slot.text, "slot")
    with database.reading() as session:
        assert session.exec(select(Menu).where(Menu.service_date == date(2026, 12, 2))).first()
        assert not session.exec(
            select(MenuItem)
            .join(Menu)
            .where(Menu.service_date == date(2026, 12, 2), MenuItem.price_fen == 1000)
        ).first()
