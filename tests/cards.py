"""Photos of meal cards for the tests: the card printed as the programme prints it, rendered
from its PDF and framed, turned and compressed as a phone's camera would give it."""

import io

import pypdfium2
from PIL import Image
from reportlab.lib.pagesizes import A4

from core.meal_cards import CARD_HEIGHT, CARD_WIDTH, COLUMNS, ROWS, cards_for, cards_pdf
from core.settings import get_settings


def card_photo(database, elder_id: int, *, dpi: int = 150, turn: int = 90) -> bytes:
    """A JPEG photo of the elder's card now in use (the first card on its sheet, with some of
    the table around it)."""
    with database.reading() as session:
        cards = cards_for(session=session, elder_ids=[elder_id])
        pdf = cards_pdf(cards, "zh_CN", phone=get_settings().programme_phone)
    return sheet_photo(pdf, dpi=dpi, turn=turn)


def sheet_photo(pdf: bytes, *, dpi: int = 150, turn: int = 90) -> bytes:
    scale = dpi / 72
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=scale).to_pil()
    left = (A4[0] - COLUMNS * CARD_WIDTH) / 2 - 20
    top = (A4[1] - ROWS * CARD_HEIGHT) / 2 - 20
    box = (left, top, left + CARD_WIDTH + 40, top + CARD_HEIGHT + 40)
    card = image.crop(tuple(round(v * scale) for v in box)).rotate(turn, expand=True)
    out = io.BytesIO()
    card.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def blank_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (230, 230, 230)).save(out, "JPEG")
    return out.getvalue()
