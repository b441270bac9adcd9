"""Every PDF the programme writes carries its font inside the file, so the Chinese, the middle
dot of 阿依古丽·买买提 and the ¥ sign print the same in any viewer and on any printer (a font
only named, like ReportLab's built-in STSong-Light, is replaced by whatever the viewer has, or
by boxes); and the font has a glyph for every character the PDFs show."""

from pathlib import Path

import pypdf
import pytest
from reportlab.pdfbase import pdfmetrics

from billing.exports import settle_files
from billing.settlement import month_range
from core.models import Elder, Order
from core.reports import font as registered_font
from core.types import Category, Slot
from kitchen.exports import kitchen_files
from tests.conftest import SHANGHAI
from tests.factories import PolicyFactory, kitchen_with_route, lunch_delivered

PROGRAMME_PHONE = "020-8888 0000"  # the programme's number, as the surfaces pass it


def fonts_of(path: Path) -> list[tuple[str, dict]]:
    """(font name, font descriptor) of every font the PDF's pages use, descendant fonts of
    composite (Type0) fonts included."""
    found = []
    for page in pypdf.PdfReader(path).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for face in [font, *[d.get_object() for d in font.get("/DescendantFonts", [])]]:
                if "/FontDescriptor" in face:
                    found.append((str(face["/BaseFont"]), face["/FontDescriptor"].get_object()))
                elif face.get("/Subtype") != "/Type0":
                    found.append((str(face["/BaseFont"]), {}))
    return found


def text_of(path: Path) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def assert_embedded_and_drawable(path: Path) -> None:
    fonts = fonts_of(path)
    assert fonts, path.name
    for name, descriptor in fonts:
        embedded = {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor)
        assert embedded, f"{path.name}: font {name} is not embedded"
    face = pdfmetrics.getFont(registered_font()).face
    missing = {ch for ch in text_of(path) if not ch.isspace() and ord(ch) not in face.charToGlyph}
    assert not missing, f"{path.name}: no glyph for {sorted(missing)}"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_kitchen_pdf_embeds_its_font_and_has_a_glyph_for_each_character(
    make, session, tmp_path, locale
):
    _, orders = kitchen_with_route(make, elders=2)
    # A name with the middle dot that printed as a box, on every list that names elders.
    elder = session.get(Elder, session.get(Order, orders[0]).elder_id)
    elder.name = "阿依古丽·买买提"
    session.add(elder)
    session.flush()
    order = session.get(Order, orders[0])
    files = kitchen_files(
        session=session,
        kitchen_id=order.site_id,
        service_date=make.today,
        slot=Slot.lunch,
        folder=tmp_path,
        locale=locale,
        base_url="https://meals.example.org",
        programme_phone=PROGRAMME_PHONE,
        tz=SHANGHAI,
    )
    pdfs = [path for path in files if path.suffix == ".pdf"]
    assert {path.name.split("-20")[0] for path in pdfs} == {
        "production",
        "special-diets",
        "purchase",
        "packing",
        "labels-a4",
        "labels-thermal",
        "route-sheets",
    }
    for path in pdfs:
        assert_embedded_and_drawable(path)
    for kind in ("packing", "labels-a4", "route-sheets"):
        path = next(p for p in pdfs if p.name.startswith(kind))
        assert "阿依古丽·买买提" in text_of(path).replace("\n", ""), kind
    production = next(p for p in pdfs if p.name.startswith("production"))
    assert ("白切鸡套餐" if locale == "zh_CN" else "Dish") in text_of(production)


def test_statements_and_bills_embed_their_font(make, session, tmp_path):
    site, dishes, _ = make.world()
    policy = PolicyFactory(session)
    city = policy.funder(name_zh="广州市民政局", name_en="Guangzhou Civil Affairs")
    policy.rule(city, code="DIBAO", categories=["dibao"], amount_fen=800)
    elders = [
        make.elder(site, name="阿依古丽·买买提", categories=[Category.minimum_living]),
        make.elder(site, name="陆伟雄"),
    ]
    lunch_delivered(make, site, dishes[0], elders)
    month = make.today.strftime("%Y-%m")
    first, last = month_range(month)
    settle_files(
        session=session,
        month=month,
        first=first,
        last=last,
        folder=tmp_path,
        locale="zh_CN",
        reviews=[],
    )
    pdfs = sorted(tmp_path.glob("*.pdf"))
    assert {p.name for p in pdfs} >= {f"statement-{city.code}.pdf", "bills.pdf"}
    for path in pdfs:
        assert_embedded_and_drawable(path)
    assert "阿依古丽·买买提" in text_of(tmp_path / "bills.pdf")
    assert "广州市民政局" in text_of(tmp_path / f"statement-{city.code}.pdf")


def test_the_font_draws_the_characters_of_every_translated_message():
    """ReportLab draws a character the font lacks as an empty box without a word: every
    character of the catalogs' messages (which the PDFs' headings and warnings come from)
    must be in the font, emoji apart (the chat's, never printed)."""
    from babel.messages.pofile import read_po

    from core.settings import get_settings

    face = pdfmetrics.getFont(registered_font()).face
    missing: dict[str, str] = {}
    for locale in ("zh_CN", "en"):
        path = get_settings().locales_dir / locale / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            texts = [message.id, message.string]
            for text in texts:
                for part in text if isinstance(text, tuple | list) else [text]:
                    for ch in part or "":
                        if ch.isspace() or ord(ch) in face.charToGlyph or _emoji(ch):
                            continue
                        missing.setdefault(ch, str(message.id)[:60])
    assert not missing, missing


def _emoji(ch: str) -> bool:
    # Pictographs, dingbats and the variation selector the chat's emoji use.
    code = ord(ch)
    return (
        code >= 0x1F000
        or 0x2600 <= code <= 0x27BF
        or 0x23E9 <= code <= 0x23FA
        or code in (0xFE0F, 0x200D, 0x2B50)
    )


def test_meal_cards_embed_their_font(make, session, tmp_path):
    from core import meal_cards

    site, _, _ = make.world()
    elders = [make.elder(site, name="阿依古丽·买买提"), make.elder(site, name="陆伟雄")]
    cards = meal_cards.cards_for(session=session, elder_ids=[e.id for e in elders])
    path = tmp_path / "cards.pdf"
    path.write_bytes(meal_cards.cards_pdf(cards, "zh_CN", phone="020-8888 1234"))
    assert_embedded_and_drawable(path)
    assert "阿依古丽·买买提" in text_of(path).replace("\n", "")
