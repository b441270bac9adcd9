"""Meal cards: a signed code that names the elder's number and card number and nothing else,
refused when changed by a character or replaced by a reissued card; A4 sheets of ten cards
whose QR codes a real decoder reads back as those codes, with the names in Chinese."""

import io
import re

import pypdf
import pypdfium2
import pytest
import zxingcpp

from core import meal_cards
from core.meal_cards import CardReplaced, CardUnknown, CardUnreadable


def decoded(pdf: bytes, page: int = 0) -> list[str]:
    image = pypdfium2.PdfDocument(pdf)[page].render(scale=200 / 72).to_pil().convert("L")
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [
        c.text
        for c in sorted(found, key=lambda c: (c.position.top_left.y // 50, c.position.top_left.x))
    ]


PHONE = "020-8888 1234"


def test_the_code_names_the_elder_and_card_only_and_is_signed(make, session):
    elder = make.elder(name="陈桂英", phone="13800001234")
    code = meal_cards.card_code(elder.id, 1)
    # Only the prefix, the elder's number, the card number and the signature.
    prefix, number, card, signature = code.split(".")
    assert (prefix, number, card) == ("MC1", str(elder.id), "1")
    assert re.fullmatch(r"[A-Za-z0-9_-]{20}", signature)
    assert "13800001234" not in code and "陈" not in code
    assert meal_cards.elder_of_card(session=session, code=code).id == elder.id

    other = make.elder()
    forged = f"MC1.{other.id}.1.{signature}"  # her signature on another elder's number
    changed = code[:-1] + ("A" if code[-1] != "A" else "B")
    for bad in (forged, changed, "MC1.1.1", "hello", "", f"MC1.{elder.id}.x.{signature}"):
        with pytest.raises(CardUnknown):
            meal_cards.elder_of_card(session=session, code=bad)
    # A well-signed card of an elder no longer in the database is no elder's card.
    with pytest.raises(CardUnknown):
        meal_cards.elder_of_card(session=session, code=meal_cards.card_code(987654, 1))


def test_a_reissued_card_replaces_the_old_one(make, session):
    elder = make.elder()
    old = meal_cards.card_code(elder.id, elder.card_number)
    assert elder.card_number == 1
    assert meal_cards.reissue(session=session, elder_id=elder.id) == 2
    new = meal_cards.card_code(elder.id, 2)
    assert meal_cards.elder_of_card(session=session, code=new).id == elder.id
    with pytest.raises(CardReplaced) as refused:
        meal_cards.elder_of_card(session=session, code=old)
    assert "补发" in refused.value.render("zh_CN")
    assert "replaced" in refused.value.render("en")
    # A card number ahead of the elder's (never issued) is not hers either.
    with pytest.raises(CardUnknown):
        meal_cards.elder_of_card(session=session, code=meal_cards.card_code(elder.id, 3))


def test_a_sheet_has_ten_cards_a_page_whose_codes_decode_and_names_render_in_chinese(make, session):
    community = make.community(name="北京街社区")
    names = [f"陈桂英{n}" for n in range(11)]
    elders = [make.elder(community, name=name) for name in names]
    meal_cards.reissue(session=session, elder_id=elders[0].id)
    cards = meal_cards.cards_for(session=session, elder_ids=[e.id for e in elders])
    assert [c.elder for c in cards] == names
    pdf = meal_cards.cards_pdf(cards, "zh_CN", phone=PHONE)
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 2
    text = re.sub(r"\s+", "", pages[0].extract_text())
    for name in names[:10]:
        assert name in text
    assert "北京街社区" in text and "助餐卡" in text
    first = decoded(pdf, 0)
    assert len(first) == 10
    assert first[0] == meal_cards.card_code(elders[0].id, 2)  # the reissued card's code
    assert first[1:] == [meal_cards.card_code(e.id, 1) for e in elders[1:10]]
    assert decoded(pdf, 1) == [meal_cards.card_code(elders[10].id, 1)]
    english = re.sub(
        r"\s+",
        " ",
        pypdf.PdfReader(io.BytesIO(meal_cards.cards_pdf(cards[:1], "en", phone=PHONE)))
        .pages[0]
        .extract_text(),
    )
    assert "Meal card" in english
    assert PHONE in english  # the number the card's foot gives, as the caller passed it


def test_a_photo_without_a_card_is_unreadable(make, session):
    from PIL import Image

    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, "PNG")
    for data in (blank.getvalue(), b"not an image", b""):
        with pytest.raises(CardUnreadable):
            meal_cards.code_in_image(data)
