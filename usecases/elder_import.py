"""Bringing in the elder list a district already keeps (the civil-affairs system's Excel file, or
a CSV of it): read with Chinese or English headers, every row checked before anything is
written, each problem named by row and column in the reader's language. Nothing is written
while the file has a problem, unless the admin chooses to import only the clean rows. An elder
is found again by her ID card number's keyed hash, so importing the same file twice updates
her and never registers her twice. Each elder goes in through `usecases.elders` (the same
rules and audit entries as the registry's form), and the import itself is audited."""

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select

from core import audit
from core.clock import Clock, today
from core.dates import read_date
from core.db import exclusive
from core.elders import phone_forms
from core.errors import Conflict, DomainError
from core.geocoding import Locator, locator_from
from core.i18n import N_, gettext, render
from core.id_numbers import IdNumberProblem, read_id_number
from core.models import Community, Elder, ElderCategory, EmergencyContact, saved
from core.schemas import ElderCreate, ElderUpdate
from core.settings import Settings
from core.types import LABELS, Allergen, Category, DietTag, Labelled, Texture
from core.validation import PROBLEMS, UNKNOWN_PROBLEM, plausible_birth_date
from usecases.elders import change_elder, register_elders

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
# New elders are written this many at a time (a few statements for each batch).
_BATCH = 1000
# Questions to the geocoder one import may ask (each a round trip of up to
# MEALAID_GEOCODER_TIMEOUT_SECONDS, inside the import's transaction): the elders after that
# are placed at their community's centre, marked approximate, as without a geocoder. A
# second import of the file asks about the next ones (the answers so far are kept).
GEOCODER_LOOKUPS = 300
_SEPARATORS = re.compile(r"[、,，;；/]+")
_NONE_WORDS = {"无", "没有", "none", "no", "-", "—", "/"}
_CONTACT_RELATION = "紧急联系人"


# -- the columns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS = (
    Column("name", "姓名", "Name", ("名字",), required=True),
    Column("id_number", "身份证号", "ID number", ("身份证号码", "身份证", "ID card number"), True),
    Column("phone", "手机", "Phone", ("手机号", "手机号码", "电话", "联系电话")),
    Column("address", "地址", "Address", ("住址", "家庭住址", "居住地址"), required=True),
    Column("community", "社区", "Community", ("所属社区", "社区名称"), required=True),
    Column("categories", "类别", "Categories", ("人员类别", "类型", "Category")),
    Column("birth_date", "出生日期", "Date of birth", ("生日", "出生年月日", "Birth date")),
    Column("diet", "饮食", "Diet", ("饮食要求", "饮食禁忌", "Diet needs")),
    Column("texture", "质地", "Texture", ("食物质地", "Food texture")),
    Column("allergies", "过敏", "Allergies", ("过敏原", "过敏食物")),
    Column("contact_name", "紧急联系人", "Emergency contact", ("联系人",)),
    Column("contact_phone", "联系人电话", "Contact phone", ("紧急联系人电话", "联系人手机")),
    Column("gender", "性别", "Gender"),
    Column("lat", "纬度", "Latitude", ("lat",)),
    Column("lon", "经度", "Longitude", ("lon", "lng")),
)
# The columns the template offers (the rest are read when a file has them).
TEMPLATE_KEYS = (
    "name",
    "id_number",
    "phone",
    "address",
    "community",
    "categories",
    "birth_date",
    "diet",
    "texture",
    "allergies",
    "contact_name",
    "contact_phone",
)


def _fold(text: str) -> str:
    return re.sub(r"[\s_*＊:：]", "", unicodedata.normalize("NFKC", text)).casefold()


_HEADERS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.zh, _column.en, _column.key, *_column.aliases):
        _HEADERS[_fold(_name)] = _column.key
_BY_KEY = {column.key: column for column in COLUMNS}


# -- the words staff type ------------------------------------------------------------------

_WORDS: dict[type[Labelled], dict[str, tuple[str, ...]]] = {
    Category: {
        "tekun": ("特困", "特困人员", "特困供养", "特困供养人员", "五保"),
        "dibao": ("低保", "低保户", "最低生活保障"),
        "low_income": ("低收入", "低收入家庭", "低边"),
        "advanced_age": ("高龄", "高龄老人", "80岁以上"),
        "disabled_care": ("失能", "失能老人", "半失能"),
        "dementia": ("失智", "认知障碍", "失智老人"),
        "living_alone": ("独居", "独居老人", "空巢"),
        "family_planning": ("计划生育特殊家庭", "计生特殊家庭", "失独", "计生特扶"),
        "disability": ("残疾", "残疾人", "重度残疾"),
    },
    DietTag: {
        "low_salt": ("低盐", "少盐", "清淡"),
        "low_sugar": ("低糖", "少糖", "无糖", "糖尿病"),
        "low_fat": ("低脂", "少油"),
        "vegetarian": ("素食", "素", "吃素"),
        "halal": ("清真",),
    },
    Texture: {
        "regular": ("普通", "正常", "常规", "普食"),
        "soft": ("软", "软食", "软烂"),
        "minced": ("碎", "碎食", "切碎", "剁碎"),
        "pureed": ("糊", "糊状", "泥状", "流质", "半流质"),
    },
    Allergen: {
        "fish": ("鱼", "鱼类"),
        "shellfish": ("虾蟹", "虾", "蟹", "贝类", "甲壳类", "海鲜"),
        "egg": ("蛋", "鸡蛋", "蛋类"),
        "milk": ("奶", "牛奶", "乳制品", "奶制品"),
        "peanut": ("花生",),
        "tree_nut": ("坚果", "果仁"),
        "soy": ("大豆", "黄豆", "豆制品", "豆类"),
        "wheat": ("小麦", "麸质", "面食"),
        "sesame": ("芝麻",),
    },
}


def _word_table(kind: type[Labelled]) -> dict[str, Labelled]:
    """Each word for a member: its code, its label in English and Chinese, the words above."""
    table: dict[str, Labelled] = {}
    for member in kind:
        words = {member.value, member.name, *_WORDS[kind][member.value]}
        label = LABELS[member]
        words |= {label, gettext(label, "zh_CN"), gettext(label, "en")}
        for word in words:
            table[_fold(word)] = member
            # A label with its Chinese in brackets, e.g. "Extreme poverty support (特困)".
            table[_fold(re.sub(r"\s*[(（].*?[)）]", "", word))] = member
    return table


_TABLES: dict[type[Labelled], dict[str, Labelled]] = {
    kind: _word_table(kind) for kind in (Category, DietTag, Texture, Allergen)
}
_KIND_FIELD = {Category: "categories", DietTag: "diet", Texture: "texture", Allergen: "allergies"}


# -- what comes back -----------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    """One problem: the spreadsheet's row (the header is row 1; 0: the file itself), the
    column as the file names it ("" for the whole row), and what is wrong."""

    row: int
    column: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, locale: str) -> str:
        return render(self.message, locale, dict(self.params))


@dataclass(frozen=True)
class ImportResult:
    rows: int
    clean_rows: int
    problems: list[ImportProblem]
    written: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    digest: str = ""

    @property
    def rows_with_problems(self) -> int:
        return self.rows - self.clean_rows

    @property
    def file_refused(self) -> bool:
        """The file itself could not be read (its format, its headers): no row is clean."""
        return any(problem.row <= 1 for problem in self.problems)


# -- reading the file ----------------------------------------------------------------------

BAD_FILE = N_("This file could not be read: save it as an Excel workbook (.xlsx) or as CSV.")
OLD_EXCEL = N_("This is an old Excel file (.xls): save it as an Excel workbook (.xlsx) or CSV.")
TOO_BIG = N_("This file is larger than {size} MB: split it into smaller files.")
TOO_MANY_ROWS = N_("This file has more than {rows} rows: split it into smaller files.")
EMPTY = N_("This file has no rows of elders under its header.")
UNKNOWN_HEADER = N_("We do not read a column called “{header}”. The columns we read: {known}.")
MISSING_HEADER = N_("The column “{header}” is missing.")
DOUBLE_HEADER = N_("The column “{header}” is there twice.")
UNKNOWN_WORD = N_("we do not know “{word}”. Please write one of: {known}.")
UNKNOWN_COMMUNITY = N_("there is no community called “{value}”.")
AMBIGUOUS_COMMUNITY = N_(
    "more than one community is called “{value}”: please write its code instead."
)
SAME_ID_AS_ROW = N_("the same ID card number as row {row}.")
SAME_PHONE_AS_ROW = N_("the same phone number as row {row}.")
PHONE_OF_ANOTHER = N_("this phone number is registered to another elder (No. {number}).")
NOT_A_NUMBER = N_("a number is needed.")
CONTACT_HALF = N_("an emergency contact needs both a name and a phone number.")
LAT_LON_HALF = N_("a latitude needs a longitude with it, and the other way round.")


@dataclass
class _Sheet:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]


def _cells(content: bytes, filename: str) -> Iterator[Sequence[Any]]:
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise _FileProblem(OLD_EXCEL)
    if content.startswith(b"PK\x03\x04"):
        import openpyxl  # here, not at import: 0.13 s (with numpy) the web app rarely needs

        # Anything a damaged or hostile workbook makes openpyxl raise (a broken zip, XML that
        # is not a sheet, a part missing) means the same to the admin: not a file we can read.
        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:
            raise _FileProblem(BAD_FILE) from None
        try:
            rows = book.worksheets[0].iter_rows(values_only=True)
            while True:
                try:
                    row = next(rows)
                except StopIteration:
                    break
                except Exception:
                    raise _FileProblem(BAD_FILE) from None
                yield row
        finally:
            book.close()
        return
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls")) or b"\x00" in content[:4096]:
        raise _FileProblem(BAD_FILE)
    # Excel writes "CSV UTF-8" with a byte-order mark, and plain "CSV" on a Chinese Windows
    # in GB18030 (GBK); anything else is not text we can read.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _FileProblem(BAD_FILE)
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error:
        raise _FileProblem(BAD_FILE) from None


class _FileProblem(Exception):
    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message, self.params = message, params


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet(content: bytes, filename: str) -> _Sheet:
    if len(content) > MAX_BYTES:
        raise _FileProblem(TOO_BIG, size=MAX_BYTES // (1024 * 1024))
    lines = iter(enumerate(_cells(content, filename), start=1))
    for _number, cells in lines:
        if not all(_blank(cell) for cell in cells):
            headers = ["" if _blank(cell) else str(cell).strip() for cell in cells]
            break
    else:
        raise _FileProblem(EMPTY)
    rows: list[tuple[int, list[Any]]] = []
    for number, cells in lines:
        if all(_blank(cell) for cell in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise _FileProblem(TOO_MANY_ROWS, rows=MAX_ROWS)
        rows.append((number, list(cells)))
    if not rows:
        raise _FileProblem(EMPTY)
    return _Sheet(headers, rows)


def _header_map(headers: list[str]) -> tuple[dict[str, int], dict[str, str], list[ImportProblem]]:
    """Which cell holds each field, the column's name as the file writes it, and problems."""
    where: dict[str, int] = {}
    names: dict[str, str] = {}
    problems: list[ImportProblem] = []
    known = "、".join(_BY_KEY[key].zh for key in TEMPLATE_KEYS)
    for index, header in enumerate(headers):
        if not header:
            continue
        key = _HEADERS.get(_fold(header))
        if key is None:
            problems.append(
                ImportProblem(1, header, UNKNOWN_HEADER, {"header": header, "known": known})
            )
        elif key in where:
            problems.append(ImportProblem(1, header, DOUBLE_HEADER, {"header": header}))
        else:
            where[key], names[key] = index, header
    for column in COLUMNS:
        if column.required and column.key not in where:
            problems.append(
                ImportProblem(
                    1, column.zh, MISSING_HEADER, {"header": f"{column.zh} / {column.en}"}
                )
            )
    return where, names, problems


# -- one row -------------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    values: dict[str, Any]
    problems: list[ImportProblem] = field(default_factory=list)
    id_hash: str = ""
    id_tail: str = ""
    phone_key: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    elder_in: ElderCreate | None = None
    match: int | None = None
    # Found again, and the file changes nothing of her.
    same: bool = False


def _text_of(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""


def _words(kind: type[Labelled], value: Any) -> tuple[list[str], list[str]]:
    """The members a cell names, and the words in it we do not know."""
    text = _text_of(value)
    if _fold(text) in _NONE_WORDS:
        return [], []
    found: list[str] = []
    unknown: list[str] = []
    table = _TABLES[kind]
    for piece in _SEPARATORS.split(text):
        # "low salt" is one word; "低盐 少油" two (spaces separate only words we know).
        words = [piece] if _fold(piece) in table else piece.split() or [piece]
        for word in words:
            if not word.strip():
                continue
            member = table.get(_fold(word))
            if member is None:
                unknown.append(word)
            elif member.value not in found:
                found.append(member.value)
    return found, unknown


def _known_words(kind: type[Labelled]) -> str:
    return "、".join(_WORDS[kind][member.value][0] for member in kind)


class _Communities:
    def __init__(self, session: Session) -> None:
        self.by_word: dict[str, set[int]] = {}
        # Held for the import's length: the session's identity map keeps rows only while
        # something refers to them, and each elder written looks up her community.
        self.kept = list(session.exec(select(Community)))
        for community in self.kept:
            for word in {community.code, community.name, re.sub(r"社区$", "", community.name)}:
                self.by_word.setdefault(_fold(word), set()).add(saved(community.id))

    def find(self, value: str) -> set[int]:
        folded = _fold(value)
        return self.by_word.get(folded) or self.by_word.get(re.sub(r"社区$", "", folded)) or set()


def _problem(of: _Row, names: Mapping[str, str], key: str, message: str, /, **params: Any) -> None:
    of.problems.append(ImportProblem(of.number, names.get(key, _BY_KEY[key].zh), message, params))


def _read_row(row: _Row, names: Mapping[str, str], communities: _Communities, on: date) -> None:
    """The row's own values read and checked (before it is compared with other rows and
    the registry)."""
    values = row.values
    fields: dict[str, Any] = {}
    for key in ("name", "address", "gender"):
        if not _blank(values.get(key)):
            fields[key] = _text_of(values[key])
    number = None
    if _blank(values.get("id_number")):
        _problem(row, names, "id_number", PROBLEMS["missing"])
    else:
        try:
            number = read_id_number(values["id_number"])
            row.id_hash, row.id_tail = number.keyed_hash(), number.tail
            fields["id_number"] = number.value
        except IdNumberProblem as problem:
            _problem(row, names, "id_number", PROBLEMS[problem.code])
    if not _blank(values.get("phone")):
        fields["phone"] = _text_of(values["phone"])
        digits = re.sub(r"\D", "", fields["phone"])
        row.phone_key = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
    if not _blank(values.get("birth_date")):
        born = read_date(values["birth_date"])
        if not isinstance(born, date):
            _problem(row, names, "birth_date", PROBLEMS["date_parsing"])
        elif number is not None and number.birth_date != born:
            _problem(row, names, "id_number", PROBLEMS["id_number_birth_mismatch"])
        fields["birth_date"] = born
    elif number is not None:
        fields["birth_date"] = number.birth_date
    born = fields.get("birth_date")
    if isinstance(born, date) and not plausible_birth_date(born, on):
        _problem(row, names, "birth_date", PROBLEMS["implausible_birth_date"])
    if not _blank(values.get("community")):
        value = _text_of(values["community"])
        found = communities.find(value)
        if not found:
            _problem(row, names, "community", UNKNOWN_COMMUNITY, value=value)
        elif len(found) > 1:
            _problem(row, names, "community", AMBIGUOUS_COMMUNITY, value=value)
        else:
            fields["community_id"] = next(iter(found))
    for kind, key in _KIND_FIELD.items():
        if _blank(values.get(key)):
            continue
        members, unknown = _words(kind, values[key])
        for word in unknown:
            _problem(row, names, key, UNKNOWN_WORD, word=word, known=_known_words(kind))
        if kind is Texture and len(members) > 1:
            _problem(row, names, key, PROBLEMS["too_long"])
        fields[key] = members
    contact = [not _blank(values.get(key)) for key in ("contact_name", "contact_phone")]
    if any(contact) and not all(contact):
        missing = "contact_phone" if contact[0] else "contact_name"
        _problem(row, names, missing, CONTACT_HALF)
    elif all(contact):
        fields["contact"] = (_text_of(values["contact_name"]), _text_of(values["contact_phone"]))
    given = [not _blank(values.get(key)) for key in ("lat", "lon")]
    if any(given) and not all(given):
        _problem(row, names, "lon" if given[0] else "lat", LAT_LON_HALF)
    elif all(given):
        for key in ("lat", "lon"):
            try:
                fields[key] = float(_text_of(values[key]))
            except ValueError:
                _problem(row, names, key, NOT_A_NUMBER)
    row.fields = fields


# Where a schema's problem is, as the file's column.
_FIELD_COLUMN = {
    "name": "name",
    "phone": "phone",
    "address": "address",
    "birth_date": "birth_date",
    "community_id": "community",
    "gender": "gender",
    "texture": "texture",
    "diet_needs": "diet",
    "allergies": "allergies",
    "categories": "categories",
    "lat": "lat",
    "lon": "lon",
    "id_number": "id_number",
}


def _schema_problems(row: _Row, names: Mapping[str, str], error: ValidationError) -> None:
    for problem in error.errors():
        location = [str(part) for part in problem["loc"]]
        if location[:1] == ["emergency_contacts"]:
            key = "contact_phone" if location[-1] == "phone" else "contact_name"
        else:
            key = _FIELD_COLUMN.get(location[0] if location else "", "name")
        _problem(row, names, key, PROBLEMS.get(problem["type"], UNKNOWN_PROBLEM))


def _new_elder(row: _Row, names: Mapping[str, str], on: date) -> None:
    """The row as a new elder's record (the schema's checks too)."""
    fields = row.fields
    data: dict[str, Any] = {
        key: fields[key]
        for key in ("name", "address", "gender", "phone", "birth_date", "community_id", "id_number")
        if key in fields
    }
    data["texture"] = (fields.get("texture") or ["regular"])[0]
    data["diet_needs"] = fields.get("diet", [])
    data["allergies"] = fields.get("allergies", [])
    data["categories"] = [{"category": c, "valid_from": on} for c in fields.get("categories", [])]
    if "contact" in fields:
        name, phone = fields["contact"]
        data["emergency_contacts"] = [{"name": name, "relation": _CONTACT_RELATION, "phone": phone}]
    if "lat" in fields and "lon" in fields:
        data["lat"], data["lon"] = fields["lat"], fields["lon"]
    try:
        row.elder_in = ElderCreate.model_validate(data)
    except ValidationError as error:
        _schema_problems(row, names, error)


@dataclass(frozen=True)
class _Held:
    """What the registry holds of an elder found again, to change only what the file says."""

    elder: Elder
    categories: list[ElderCategory]
    contacts: list[EmergencyContact]


def _changed_elder(
    row: _Row, names: Mapping[str, str], held: _Held, on: date, place_again: bool
) -> None:
    """The elder found again, as the file changes her: a cell left empty keeps what the
    registry holds (staff may have added to it since); 无 empties a list. `place_again`: an
    elder placed approximately is asked about again (a geocoder is there to ask)."""
    fields, elder = row.fields, held.elder
    data: dict[str, Any] = {
        "name": fields.get("name", elder.name),
        "phone": fields.get("phone", elder.phone),
        "address": fields.get("address", elder.address),
        "community_id": fields.get("community_id", elder.community_id),
        "birth_date": fields.get("birth_date", elder.birth_date),
        "gender": fields.get("gender", elder.gender),
        "texture": (fields.get("texture") or [elder.texture])[0],
        "diet_needs": fields.get("diet", elder.diet_needs),
        "allergies": fields.get("allergies", elder.allergies),
        "service_mode": elder.service_mode,
        "home_site_id": elder.home_site_id,
        "language": elder.language,
        "notes": elder.notes,
        "status": elder.status,
        "consent": elder.consent_at is not None,
        "id_number": fields.get("id_number"),
    }
    if "lat" in fields and "lon" in fields:
        data["lat"], data["lon"] = fields["lat"], fields["lon"]
    elif (
        data["address"] == elder.address
        and data["community_id"] == elder.community_id
        and not (place_again and elder.location_approximate)
    ):
        data["lat"], data["lon"] = elder.lat, elder.lon
    grants = [(g.category, g.valid_from, g.valid_to) for g in held.categories]
    if "categories" in fields:
        wanted = set(fields["categories"])
        kept: list[tuple[str, date, date | None]] = []
        for category, valid_from, valid_to in grants:
            if (valid_to is None or valid_to >= on) and category not in wanted:
                # No longer in the district's list: it ends yesterday (kept as history), or
                # is dropped if it only began today.
                if valid_from >= on:
                    continue
                valid_to = on - timedelta(days=1)
            kept.append((category, valid_from, valid_to))
        current = {c for c, _start, end in kept if end is None or end >= on}
        kept += [(c, on, None) for c in sorted(wanted - current)]
        grants = kept
    data["categories"] = [
        {"category": c, "valid_from": start, "valid_to": end} for c, start, end in grants
    ]
    contacts = [
        (c.name, c.relation, c.phone, c.priority)
        for c in sorted(held.contacts, key=lambda c: (c.priority, c.id or 0))
    ]
    if "contact" in fields:
        name, phone = fields["contact"]
        if all(phone_forms(phone).isdisjoint(phone_forms(c[2])) for c in contacts):
            contacts = [(name, _CONTACT_RELATION, phone, 1)] + [
                (n, r, p, min(9, priority + 1)) for n, r, p, priority in contacts[:4]
            ]
    data["emergency_contacts"] = [
        {"name": n, "relation": r, "phone": p, "priority": priority}
        for n, r, p, priority in contacts
    ]
    try:
        row.elder_in = ElderUpdate.model_validate(data)
    except ValidationError as error:
        _schema_problems(row, names, error)
        return
    row.same = _unchanged(held, row.elder_in)


def _unchanged(held: _Held, elder_in: ElderUpdate) -> bool:
    """The registry holds what the row says already (most rows of a file imported again):
    no change to make, and none to record."""
    elder = held.elder
    columns = elder_in.model_dump(
        exclude={"categories", "emergency_contacts", "consent", "id_number"}
    )
    if any(getattr(elder, name) != value for name, value in columns.items()):
        return False
    if (
        elder_in.id_number is not None
        and elder.id_number_hash != read_id_number(elder_in.id_number).keyed_hash()
    ):
        return False
    grants = sorted((g.category, g.valid_from, g.valid_to) for g in held.categories)
    wanted = sorted((g.category.value, g.valid_from, g.valid_to) for g in elder_in.categories)
    contacts = sorted((c.name, c.relation, c.phone, c.priority) for c in held.contacts)
    given = sorted((c.name, c.relation, c.phone, c.priority) for c in elder_in.emergency_contacts)
    return grants == wanted and contacts == given


# -- the whole file ------------------------------------------------------------------------


@dataclass
class _Plan:
    rows: list[_Row]
    problems: list[ImportProblem]
    digest: str
    communities: list[Community] = field(default_factory=list)


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _plan(
    session: Session, clock: Clock, content: bytes, filename: str, place_again: bool = False
) -> _Plan:
    digest = hashlib.sha256(content).hexdigest()
    try:
        sheet = _sheet(content, filename)
    except _FileProblem as problem:
        return _Plan([], [ImportProblem(0, "", problem.message, problem.params)], digest)
    where, names, header_problems = _header_map(sheet.headers)
    if header_problems:
        rows = [_Row(number, {}) for number, _cells in sheet.rows]
        return _Plan(rows, header_problems, digest)
    on = today(clock)
    communities = _Communities(session)
    rows = []
    for number, cells in sheet.rows:
        values = {key: cells[index] if index < len(cells) else None for key, index in where.items()}
        row = _Row(number, values)
        _read_row(row, names, communities, on)
        rows.append(row)
    # Rows of one file that are one person, or share a phone.
    first_of: dict[str, int] = {}
    first_phone: dict[str, int] = {}
    for row in rows:
        if row.id_hash:
            if row.id_hash in first_of:
                _problem(row, names, "id_number", SAME_ID_AS_ROW, row=first_of[row.id_hash])
            else:
                first_of[row.id_hash] = row.number
        if row.phone_key:
            if row.phone_key in first_phone:
                _problem(row, names, "phone", SAME_PHONE_AS_ROW, row=first_phone[row.phone_key])
            else:
                first_phone[row.phone_key] = row.number
    # The registry: the elders these ID numbers are, and whose phone numbers these are.
    hashes = sorted(first_of)
    found: dict[str, int] = {}
    for chunk in _chunks(hashes):
        for elder_id, stored in session.execute(
            sa.select(col(Elder.id), col(Elder.id_number_hash)).where(
                col(Elder.id_number_hash).in_(chunk)
            )
        ):
            found[stored] = elder_id
    phones: dict[str, int] = {}
    for elder_id, phone in session.execute(
        sa.select(col(Elder.id), col(Elder.phone)).where(col(Elder.phone).is_not(None))
    ):
        digits = re.sub(r"\D", "", phone)
        phones[digits[2:] if digits.startswith("86") and len(digits) == 13 else digits] = elder_id
    held = _held(session, sorted(set(found.values())))
    for row in rows:
        row.match = found.get(row.id_hash)
        owner = phones.get(row.phone_key) if row.phone_key else None
        if owner is not None and owner != row.match:
            _problem(row, names, "phone", PHONE_OF_ANOTHER, number=owner)
        if row.problems:
            continue
        if row.match is None:
            _new_elder(row, names, on)
        else:
            _changed_elder(row, names, held[row.match], on, place_again)
    problems = [problem for row in rows for problem in row.problems]
    return _Plan(rows, problems, digest, communities.kept)


def _held(session: Session, elder_ids: list[int]) -> dict[int, _Held]:
    elders: dict[int, Elder] = {}
    grants: dict[int, list[ElderCategory]] = {}
    contacts: dict[int, list[EmergencyContact]] = {}
    for start in range(0, len(elder_ids), 500):
        chunk = elder_ids[start : start + 500]
        for elder in session.execute(sa.select(Elder).where(col(Elder.id).in_(chunk))).scalars():
            elders[saved(elder.id)] = elder
        for grant in session.execute(
            sa.select(ElderCategory)
            .where(col(ElderCategory.elder_id).in_(chunk))
            .order_by(col(ElderCategory.valid_from), col(ElderCategory.id))
        ).scalars():
            grants.setdefault(grant.elder_id, []).append(grant)
        for contact in session.execute(
            sa.select(EmergencyContact).where(col(EmergencyContact.elder_id).in_(chunk))
        ).scalars():
            contacts.setdefault(contact.elder_id, []).append(contact)
    return {
        elder_id: _Held(elder, grants.get(elder_id, []), contacts.get(elder_id, []))
        for elder_id, elder in elders.items()
    }


def import_locator(settings: Settings) -> Locator:
    """The locator an import uses: the settings' geocoder, asked at most GEOCODER_LOOKUPS
    times."""
    return locator_from(settings, GEOCODER_LOOKUPS)


def check_elder_file(
    *, session: Session, clock: Clock, content: bytes, filename: str = ""
) -> ImportResult:
    """The dry run: every problem of the file, by row and column; nothing is written."""
    plan = _plan(session, clock, content, filename)
    return _result(plan, written=False)


def import_elders(
    *,
    session: Session,
    clock: Clock,
    actor: str,
    content: bytes,
    filename: str = "",
    only_clean: bool = False,
    locator: Locator | None = None,
) -> ImportResult:
    """Register the file's new elders and update those found again by their ID number, in
    the caller's one transaction. While a row has a problem nothing is written, unless
    `only_clean`: then the clean rows go in and the others are left (a problem with the file
    itself, its format or its headers, leaves every row out)."""
    # One import at a time (PostgreSQL; SQLite's writers take turns anyway): a second import
    # of the same list plans after the first has committed, and finds its elders.
    exclusive(session, "elder-import")
    # No locator given: no geocoder to ask (the surfaces pass `import_locator(settings)`).
    locator = locator or Locator(None)
    plan = _plan(session, clock, content, filename, place_again=locator.geocoder is not None)
    clean = [row for row in plan.rows if not row.problems and row.elder_in is not None]
    if plan.problems and (not only_clean or not clean):
        return _result(plan, written=False)
    created = updated = unchanged = 0
    new = [row for row in clean if row.match is None]
    for start in range(0, len(new), _BATCH):
        batch = new[start : start + _BATCH]
        try:
            register_elders(
                session=session,
                clock=clock,
                actor=actor,
                elders_in=[row.elder_in for row in batch if row.elder_in is not None],
                locator=locator,
            )
        except DomainError as refusal:
            # A rule the checks above share with the registry said no after all (an elder
            # registered on the form at the same moment): the caller rolls everything back.
            item = refusal.params.get("item", 0)
            raise RowRefused(row=batch[item].number, refusal=refusal) from refusal
        except sa.exc.IntegrityError as clash:
            # The same, between the check and the insert.
            raise ImportCollided() from clash
        created += len(batch)
    for row in clean:
        if row.match is None:
            continue
        if row.same:
            unchanged += 1
            continue
        assert isinstance(row.elder_in, ElderUpdate)
        try:
            changed = change_elder(
                session=session,
                clock=clock,
                actor=actor,
                elder_id=row.match,
                elder_in=row.elder_in,
                locator=locator,
            )
        except DomainError as refusal:
            raise RowRefused(row=row.number, refusal=refusal) from refusal
        updated, unchanged = updated + bool(changed), unchanged + (not changed)
    skipped = len(plan.rows) - len(clean)
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="import_elders",
        subject="elders",
        detail=(
            f"file:{plan.digest[:16]} rows:{len(plan.rows)} created:{created} "
            f"updated:{updated} unchanged:{unchanged} skipped:{skipped}"
        ),
    )
    return _result(
        plan,
        written=True,
        created=created,
        updated=updated,
        unchanged=unchanged,
        skipped=skipped,
    )


class ImportCollided(Conflict):
    code = "import_collided"
    message = N_(
        "Nothing was imported: an elder of this file was registered by someone else at the "
        "same moment. Please import the file again."
    )


class RowRefused(DomainError):
    code = "import_row_refused"
    message = N_("Nothing was imported: row {row} was refused: {refusal}")
    status = 409

    def render(self, locale: str) -> str:
        refusal = self.params["refusal"]
        return render(
            self.message, locale, {"row": self.params["row"], "refusal": refusal.render(locale)}
        )


def _result(plan: _Plan, *, written: bool, **counts: int) -> ImportResult:
    clean = sum(1 for row in plan.rows if not row.problems and row.elder_in is not None)
    if any(problem.row <= 1 for problem in plan.problems):
        clean = 0
    return ImportResult(
        rows=len(plan.rows),
        clean_rows=clean,
        problems=plan.problems,
        written=written,
        digest=plan.digest,
        **counts,
    )


# -- the template ----------------------------------------------------------------------------

_EXAMPLE = {
    "name": "陈秀英",
    "id_number": "11010519491231002X",
    "phone": "13912345678",
    "address": "越秀区人民北路100号3栋201",
    "community": "",
    "categories": "低保、高龄",
    "birth_date": "1949/12/31",
    "diet": "低盐",
    "texture": "软食",
    "allergies": "无",
    "contact_name": "李明",
    "contact_phone": "13800001234",
}
_EXAMPLE_EN = {
    **_EXAMPLE,
    "name": "Chen Xiuying",
    "address": "Flat 201, Block 3, 100 Renmin North Road",
    "categories": "dibao, advanced_age",
    "diet": "low_salt",
    "texture": "soft",
    "allergies": "none",
    "contact_name": "Li Ming",
}


def template_xlsx(*, locale: str, community: str = "") -> bytes:
    """The template to fill in: the headers in the reader's language, one example row, and
    a second sheet with the words each column takes. ID numbers and phones are text cells
    (a number cell would lose an ID number's last digits)."""
    english = locale == "en"
    example = {**(_EXAMPLE_EN if english else _EXAMPLE), "community": community}
    import xlsxwriter  # here, not at import (core.reports._xlsx)

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    text = book.add_format({"num_format": "@"})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(gettext(N_("Elders"), locale)[:31])
    for index, key in enumerate(TEMPLATE_KEYS):
        column = _BY_KEY[key]
        sheet.write_string(0, index, column.en if english else column.zh, bold)
        sheet.set_column(index, index, 18, text)
        sheet.write_string(1, index, str(example[key]), text)
    help_sheet = book.add_worksheet(gettext(N_("Words"), locale)[:31])
    help_sheet.set_column(0, 0, 16)
    help_sheet.set_column(1, 1, 90)
    for index, (kind, key) in enumerate(_KIND_FIELD.items()):
        column = _BY_KEY[key]
        words = ", ".join(member.value for member in kind) if english else _known_words(kind)
        help_sheet.write_string(index, 0, column.en if english else column.zh, bold)
        help_sheet.write_string(index, 1, words)
    book.close()
    return out.getvalue()


def template_csv(*, locale: str, community: str = "") -> bytes:
    """The template as CSV, with the byte-order mark Excel needs to read it as UTF-8."""
    english = locale == "en"
    example = {**(_EXAMPLE_EN if english else _EXAMPLE), "community": community}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_BY_KEY[key].en if english else _BY_KEY[key].zh for key in TEMPLATE_KEYS])
    writer.writerow([example[key] for key in TEMPLATE_KEYS])
    return out.getvalue().encode("utf-8-sig")
