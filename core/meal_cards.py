"""Meal cards: a printed card per elder (name, community, a place for a photo) whose QR code the
canteen counter reads to find her meals of the day.

The code is `MC1.<elder's number>.<card number>.<signature>`: it names the elder by her number
and nothing else (no name, no phone), and is signed with the programme's secret key, so it can
be neither guessed nor changed into another elder's. It opens nothing on its own: only a
logged-in counter turns it into that elder's meals. Each elder's card number is stored; a card
reissued when one is lost gets the next number, and the codes of earlier cards stop working."""

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import zxingcpp
from PIL import Image, UnidentifiedImageError
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas
from sqlmodel import Session, col

from core import i18n
from core.errors import DomainError, ElderNotFound, NotFound
from core.i18n import N_
from core.models import Community, Elder, saved
from core.reports import draw_qr, font
from core.signing import matches, signature
from core.types import ElderStatus

PREFIX = "MC1"
_CODE = re.compile(rf"{PREFIX}\.(\d{{1,12}})\.(\d{{1,9}})\.([A-Za-z0-9_-]{{20}})")
# A phone's camera takes photos of 12 to 50 megapixels; more is not a photo of a card.
MAX_PIXELS = 60_000_000


class CardUnknown(NotFound):
    code = "card_unknown"
    message = N_("This is not a meal card of this programme.")


class CardReplaced(DomainError):
    code = "card_replaced"
    message = N_(
        "This meal card has been replaced by a new one (reissued) and no longer works. "
        "Please ask for the new card."
    )
    status = 409


class CardUnreadable(DomainError):
    code = "card_unreadable"
    message = N_(
        "No meal card could be read in this photo. Hold the card flat, let its square code "
        "fill most of the picture, and try again."
    )
    status = 422


class SeveralCards(DomainError):
    code = "several_cards"
    message = N_("This photo shows more than one meal card: please photograph one card.")
    status = 422


def _message(elder_id: int, card_number: int) -> str:
    return f"meal-card:{elder_id}:{card_number}"


def card_code(elder_id: int, card_number: int) -> str:
    """The code printed on this card of this elder."""
    return f"{PREFIX}.{elder_id}.{card_number}.{signature(_message(elder_id, card_number))}"


def elder_of_card(*, session: Session, code: str) -> Elder:
    """The elder whose card this is, if it is her card now: a code that is not one of ours
    (or changed by a single character) is refused, and so is a card that was replaced."""
    found = _CODE.fullmatch(code.strip())
    if found is None:
        raise CardUnknown()
    elder_id, card_number = int(found.group(1)), int(found.group(2))
    if not matches(_message(elder_id, card_number), found.group(3)):
        raise CardUnknown()
    elder = session.get(Elder, elder_id)
    if elder is None or card_number > elder.card_number:
        raise CardUnknown()
    if card_number < elder.card_number:
        raise CardReplaced()
    return elder


def reissue(*, session: Session, elder_id: int) -> int:
    """A new card for the elder (the old one was lost): her next card number, which from now
    on is the only one that works."""
    raised = session.execute(
        sa.update(Elder)
        .where(col(Elder.id) == elder_id)
        .values(card_number=col(Elder.card_number) + 1)
        .returning(col(Elder.card_number))
    ).scalar_one_or_none()
    if raised is None:
        raise ElderNotFound(elder_id=elder_id)
    elder = session.get(Elder, elder_id)
    if elder is not None:
        session.refresh(elder)
    return int(raised)


@dataclass(frozen=True)
class MealCard:
    elder_id: int
    card_number: int
    elder: str
    community: str
    code: str


def cards_for(
    *, session: Session, elder_ids: Sequence[int] | None = None, community_id: int | None = None
) -> list[MealCard]:
    """The cards now in use of these elders (in this order), or of a community's registered
    elders (by name)."""
    query = sa.select(Elder, col(Community.name)).join(
        Community, col(Community.id) == col(Elder.community_id)
    )
    if elder_ids is not None:
        query = query.where(col(Elder.id).in_(list(elder_ids) or [-1]))
    if community_id is not None:
        query = query.where(
            col(Elder.community_id) == community_id,
            col(Elder.status) == ElderStatus.active.value,
        )
    rows = session.execute(query.order_by(col(Elder.name), col(Elder.id))).all()
    cards = [
        MealCard(
            elder_id=saved(elder.id),
            card_number=elder.card_number,
            elder=elder.name,
            community=community,
            code=card_code(saved(elder.id), elder.card_number),
        )
        for elder, community in rows
    ]
    if elder_ids is not None:
        place = {elder_id: n for n, elder_id in enumerate(elder_ids)}
        cards.sort(key=lambda card: place[card.elder_id])
    return cards


def code_in_image(data: bytes) -> str:
    """The meal card's code in a photo (from a phone's camera, any size and way up)."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise CardUnreadable()
        gray = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise CardUnreadable() from None
    found = zxingcpp.read_barcodes(
        gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    texts = {code.text for code in found if code.valid}
    if not texts:
        raise CardUnreadable()
    ours = {text for text in texts if text.startswith(f"{PREFIX}.")}
    if len(ours) > 1:
        raise SeveralCards()
    # Another QR code (a box's label, a web address) is read, and refused as no card of ours.
    return ours.pop() if ours else texts.pop()


# -- printing ---------------------------------------------------------------------------------

# ISO/IEC 7810 ID-1, the size of a bank card: fits a wallet and a card holder on a lanyard.
CARD_WIDTH, CARD_HEIGHT = 85.6 * mm, 54 * mm
COLUMNS, ROWS = 2, 5
TITLE = N_("Meal card")
PHOTO = N_("Photo")
NUMBER = N_("Card No. {number}")
FOOTER = N_("Show this card at the canteen counter. Found? Please call {phone}.")


def _fit(text: str, size: float, width: float) -> str:
    while text and pdfmetrics.stringWidth(text, font(), size) > width:
        text = text[:-2] + "…"
    return text


def _wrap(text: str, size: float, width: float, lines: int) -> list[str]:
    """The text in at most `lines` lines of `width`, broken between words where there are
    spaces (English) and between characters where there are none (Chinese)."""
    wrapped: list[str] = []
    rest = text.strip()
    while rest and len(wrapped) < lines - 1:
        end = len(rest)
        while end > 1 and pdfmetrics.stringWidth(rest[:end], font(), size) > width:
            end -= 1
        if end < len(rest) and " " in rest[1:end]:
            end = rest.rindex(" ", 1, end)
        wrapped.append(rest[:end].strip())
        rest = rest[end:].strip()
    if rest:
        wrapped.append(_fit(rest, size, width))
    return wrapped


def _name_size(name: str, width: float) -> float:
    """The largest size, down to 9 points, at which the name fits on one line."""
    size = 16.0
    while size > 9 and pdfmetrics.stringWidth(name, font(), size) > width:
        size -= 0.5
    return size


def _draw_card(
    pdf: canvas.Canvas, card: MealCard, x: float, y: float, locale: str, phone: str
) -> None:
    """One card with its bottom-left corner at (x, y): the code at the right (a reader needs
    4 modules of clear space around it: nothing is drawn within 4 mm of it), the title, the
    name across the left, the photo's place under it with the community and card number."""
    pad, qr = 4 * mm, 28 * mm
    top = y + CARD_HEIGHT
    draw_qr(pdf, card.code, x + CARD_WIDTH - pad - qr, top - 5 * mm - qr, qr)
    left_width = CARD_WIDTH - 2 * pad - qr - 4 * mm
    pdf.setFont(font(), 8.5)
    pdf.drawString(x + pad, top - pad - 3 * mm, i18n.gettext(TITLE, locale))
    size = _name_size(card.elder, left_width)
    pdf.setFont(font(), size)
    pdf.drawString(x + pad, top - 16 * mm, _fit(card.elder, size, left_width))
    photo_w, photo_h = 17 * mm, 22 * mm
    photo_top = top - 20 * mm
    pdf.saveState()
    pdf.setStrokeGray(0.6)
    pdf.setLineWidth(0.4)
    pdf.rect(x + pad, photo_top - photo_h, photo_w, photo_h, stroke=1, fill=0)
    pdf.setFont(font(), 6.5)
    pdf.setFillGray(0.5)
    pdf.drawCentredString(
        x + pad + photo_w / 2, photo_top - photo_h / 2 - 1 * mm, i18n.gettext(PHOTO, locale)
    )
    pdf.restoreState()
    text_x = x + pad + photo_w + 2.5 * mm
    text_width = left_width - photo_w - 2.5 * mm
    cursor = photo_top - 3 * mm
    pdf.setFont(font(), 7.5)
    for line in _wrap(card.community, 7.5, text_width, 3):
        pdf.drawString(text_x, cursor, line)
        cursor -= 3.4 * mm
    number = i18n.render(NUMBER, locale, {"number": f"{card.elder_id}-{card.card_number}"})
    pdf.setFont(font(), 7)
    pdf.drawString(text_x, cursor - 1.5 * mm, _fit(number, 7, text_width))
    footer = i18n.render(FOOTER, locale, {"phone": phone})
    pdf.setFont(font(), 6)
    pdf.drawString(x + pad, y + 3 * mm, _fit(footer, 6, CARD_WIDTH - 2 * pad))


def _cut_lines(pdf: canvas.Canvas, left: float, bottom: float, rows: int) -> None:
    """Dashed lines along every edge of the cards on the page, run out to the paper's edge so
    a guillotine or ruler lines up with them."""
    pdf.saveState()
    pdf.setStrokeGray(0.55)
    pdf.setLineWidth(0.3)
    pdf.setDash(3, 2)
    top = bottom + rows * CARD_HEIGHT
    for column in range(COLUMNS + 1):
        x = left + column * CARD_WIDTH
        pdf.line(x, top + 8 * mm, x, bottom - 8 * mm)
    for row in range(rows + 1):
        y = bottom + row * CARD_HEIGHT
        pdf.line(left - 8 * mm, y, left + COLUMNS * CARD_WIDTH + 8 * mm, y)
    pdf.restoreState()


def cards_pdf(cards: Sequence[MealCard], locale: str, *, phone: str) -> bytes:
    """A4 sheets of ten cards (two across, five down) with cut lines; a single card is a sheet
    of one, printed at its true size on any office printer. `phone`: the number each card's
    foot gives (the programme's)."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1, initialFontName=font())
    pdf.setTitle(i18n.gettext(TITLE, locale))
    per_page = COLUMNS * ROWS
    left = (A4[0] - COLUMNS * CARD_WIDTH) / 2
    top = A4[1] - (A4[1] - ROWS * CARD_HEIGHT) / 2
    for start in range(0, max(len(cards), 1), per_page):
        on_page = cards[start : start + per_page]
        rows = -(-len(on_page) // COLUMNS) or 1
        for place, card in enumerate(on_page):
            column, row = place % COLUMNS, place // COLUMNS
            x, y = left + column * CARD_WIDTH, top - (row + 1) * CARD_HEIGHT
            _draw_card(pdf, card, x, y, locale, phone)
        _cut_lines(pdf, left, top - rows * CARD_HEIGHT, rows)
        pdf.showPage()
    pdf.save()
    return out.getvalue()
