"""What staff read on their pages: labels in their language (a family link is not an alert
with the family, an audit entry says what was done, a dish's variants by name), an elder's
number, a list left unchosen asked for by name, and the consent flag where it is a task."""

import re
from pathlib import Path

from sqlmodel import select

from core.audit import ACTIONS
from core.models import Elder, MenuItem
from tests.api.test_elders_api import browser, field_error, new_elder_form, registry  # noqa: F401
from tests.api.test_menus_api import client_for, world  # noqa: F401
from tests.factories import csrf_from


def test_a_family_link_is_shown_as_family_not_as_an_alert_with_the_family(registry):  # noqa: F811
    app, _, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        page = worker.get(f"/elders/{ids['li']}?lang=zh_CN").text
        links = page[page.index('class="tally links"') :]
        relation = re.search(r"<td>李明</td><td>([^<]+)</td>", links)
        assert relation and relation.group(1) == "家属"
        assert "已通知家属" not in links
        # A link in effect, not "在册" (an elder's status, which shares the English "active").
        assert '<span class="badge locked">有效</span>' in links and "在册" not in links


def test_the_elder_page_shows_her_number(registry):  # noqa: F811
    app, _, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        zh = worker.get(f"/elders/{ids['li']}?lang=zh_CN").text
        assert re.search(rf"<dt>长者编号</dt><dd[^>]*>{ids['li']}</dd>", zh)
        en = worker.get(f"/elders/{ids['li']}?lang=en").text
        assert re.search(rf"<dt>Elder no\.</dt><dd[^>]*>{ids['li']}</dd>", en)


def test_a_list_left_unchosen_is_asked_for_by_name(registry):  # noqa: F811
    app, database, _, ids = registry
    with browser(app, ids["worker"]) as worker:
        token = csrf_from(worker.get("/elders/new?lang=zh_CN").text)
        form = {
            **new_elder_form(ids["east"]),
            "community_id": "",
            # A category's dates given, the category itself not chosen.
            "categories.0.category": "",
            "csrf_token": token,
        }
        zh = worker.post("/elders/new", data=form)
        assert zh.status_code == 422
        assert field_error(zh.text, "community_id") == "请选择社区。"
        assert field_error(zh.text, "categories.0.category") == "请选择类别。"
        assert "整数" not in zh.text
        worker.cookies.set("mealaid_lang", "en")
        en = worker.post("/elders/new?lang=en", data=form)
        assert field_error(en.text, "community_id") == "please choose a community."
    with database.reading() as session:
        assert len(session.exec(select(Elder)).all()) == 2  # nothing written
    with browser(app, ids["admin"]) as admin:
        board = admin.get("/orders?lang=zh_CN")
        token = csrf_from(board.text)
        refused = admin.post(
            "/orders/phone-in?lang=zh_CN",
            data={"csrf_token": token, "elder_id": "", "item_id": "", "idempotency_key": "k-1"},
        )
        assert refused.status_code == 422
        assert "请选择长者。" in refused.text and "整数" not in refused.text


def _flagged(html: str) -> set[str]:
    """Names in the registry's list that carry the missing-consent flag."""
    return set(re.findall(r'<a href="/elders/\d+">([^<]+)</a> <span class="badge open"', html))


def test_missing_consent_is_flagged_only_for_elders_being_served(registry):  # noqa: F811
    app, database, clock, ids = registry
    with database.transaction() as session:
        session.get(Elder, ids["wang"]).status = "inactive"
    with browser(app, ids["admin"]) as admin:
        listed = admin.get("/elders?lang=zh_CN").text
        assert "李秀英" in listed and "王秀兰" in listed
        # An active elder without consent: a task for her community worker. An inactive one
        # is not served and nobody visits her to ask: no flag.
        assert _flagged(listed) == {"李秀英"}
        with database.transaction() as session:
            session.get(Elder, ids["li"]).consent_at = clock.now()
        assert _flagged(admin.get("/elders?lang=zh_CN").text) == set()


def test_dishes_and_menus_are_chosen_from_lists_by_name_not_typed_as_codes(world):  # noqa: F811
    app, database, _, ids = world
    with client_for(app, ids["admin"]) as admin:
        form_page = admin.get("/admin/dishes?lang=zh_CN").text
        # A variant is chosen by name from the usual ones, not typed as a code.
        assert 'input name="variant_code"' not in form_page
        assert re.search(r'<select name="variant_code"[^>]*>', form_page)
        assert '<option value="low_salt" >少盐</option>' in form_page
        made = admin.post(
            "/admin/dishes",
            data={
                "csrf_token": csrf_from(form_page),
                "code": "TOFU",
                "name_zh": "麻婆豆腐",
                "name_en": "Mapo tofu",
                "variant_code": ["regular", "low_salt", ""],
                "variant_texture": ["regular", "regular", "regular"],
                "variant_diet": ["1:low_salt"],
            },
            follow_redirects=False,
        )
        assert made.status_code == 303
        dish_id = int(made.headers["location"].split("/")[3].split("?")[0])
        listed = admin.get("/admin/dishes?lang=zh_CN").text
        row = re.search(rf'<a href="/admin/dishes/{dish_id}">TOFU</a>.*?</tr>', listed, re.S)
        assert row and "普通, 少盐 (普通)" in row.group(0) and "low_salt" not in row.group(0)

        menus = admin.get(f"/admin/menus?site_id={ids['site']}&week=2026-11-30&lang=zh_CN").text
        # One list of each dish in the variants it is cooked in, by name.
        assert 'name="variant"' not in menus and "可选做法" not in menus
        assert f'<option value="{dish_id}:low_salt" >麻婆豆腐 · 少盐</option>' in menus
        item = {
            "csrf_token": csrf_from(menus),
            "site_id": str(ids["site"]),
            "service_date": "2026-12-01",
            "slot": "lunch",
            "price": "12.00",
        }
        unchosen = admin.post("/admin/menus/items?lang=zh_CN", data=item)
        assert unchosen.status_code == 422 and "请选择菜品。" in unchosen.text
        added = admin.post(
            "/admin/menus/items",
            data={**item, "dish_variant": f"{dish_id}:low_salt"},
            follow_redirects=False,
        )
        assert added.status_code == 303
        # A variant the dish does not have (dish and variant sent apart, as a script might):
        # refused naming the variants in the reader's words.
        refused = admin.post(
            "/admin/menus/items?lang=zh_CN",
            data={**item, "dish_id": str(dish_id), "variant": "soft"},
        )
        assert refused.status_code == 422
        assert "没有“软食”这种做法。可选做法：普通、少盐" in refused.text
    with database.reading() as session:
        on_menu = session.exec(select(MenuItem).where(MenuItem.dish_id == dish_id)).one()
        assert (on_menu.variant, on_menu.price_fen) == ("low_salt", 1200)


def test_the_audit_page_says_in_words_what_was_done(registry):  # noqa: F811
    app, _, _, ids = registry
    with browser(app, ids["admin"]) as admin:
        admin.get(f"/elders/{ids['li']}")
        zh = admin.get("/admin/audit?lang=zh_CN").text
        assert '<td class="action" title="view_elder">查看了长者档案</td>' in zh
        assert '<td class="action" title="login">登录</td>' in zh
        en = admin.get("/admin/audit?lang=en").text
        assert '<td class="action" title="view_elder">opened an elder\'s record</td>' in en


# Where the code names an audit action: action="...", an ACTION constant, or the first plain
# string given to one of the recording helpers.
ACTION_IN_SOURCE = re.compile(
    r'\baction="([a-z_]+)"'
    r'|\b[A-Z_]*ACTION = "([a-z_]+)"'
    r'|\b_record(?:_month|_statement)?\((?:[^()"]|f"[^"]*")*?"([a-z]+_[a-z_]+|login)"'
)


PACKAGES = ("api", "bot", "billing", "core", "kitchen", "mealaid", "routing", "usecases")


def test_every_action_the_code_records_has_words_for_the_audit_page():
    root = Path(__file__).resolve().parents[2]
    found = {
        name
        for package in PACKAGES
        for path in (root / package).rglob("*.py")
        for match in ACTION_IN_SOURCE.finditer(path.read_text())
        for name in match.groups()
        if name
    }
    assert {"login", "view_elder", "create_dish", "view_settlement", "view_statement"} <= found
    assert sorted(found - set(ACTIONS)) == []
