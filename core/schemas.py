"""Validated inputs for creating and changing core records (table models do not validate)."""

from datetime import date, time
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from core.dates import SpreadsheetDate
from core.id_numbers import IdNumberProblem, read_id_number
from core.types import (
    Allergen,
    Category,
    DietTag,
    ElderStatus,
    RiderMode,
    RowId,
    ServiceMode,
    SiteKind,
    Slot,
    Texture,
)
from core.validation import LINE, LINES, checked_lines

# Text as the schema promises it: at most so long, where required not empty (spaces around are
# stripped), and fit to store and show (core.validation.text_problem: no control or invisible
# characters, something visible; line breaks only in notes).


def _text(max_length: int, *, required: bool = True, pattern: str | None = None) -> FieldInfo:
    field: FieldInfo  # pydantic types Field() as Any, for dataclass_transform
    if required:
        field = Field(min_length=1, max_length=max_length, pattern=pattern)
    else:
        field = Field(max_length=max_length, pattern=pattern)
    return field


def text(max_length: int, *, required: bool = True, pattern: str | None = None) -> Any:
    """A one-line string field of at most `max_length` characters (an `Annotated` type; the
    names below spell theirs out so that a type checker sees a type)."""
    return Annotated[str, _text(max_length, required=required, pattern=pattern), LINE]


PersonName = Annotated[str, _text(64), LINE]
Relation = Annotated[str, _text(32), LINE]
Address = Annotated[str, _text(200), LINE]
Gender = Annotated[str, _text(8, required=False), LINE]
Notes = Annotated[str, _text(500, required=False), LINES]
Reason = Annotated[str, _text(200, required=False), LINE]
Name = Annotated[str, Field(min_length=1, max_length=64), LINE]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 -]{3,18}[0-9]$")]


def _id_number(value: str) -> str:
    try:
        return read_id_number(value).value
    except IdNumberProblem as problem:
        raise PydanticCustomError(problem.code, problem.code) from None


# A resident ID card number (身份证号), checked and brought to its 18-character form.
IdNumberText = Annotated[str, Field(max_length=32), AfterValidator(_id_number)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Fen = Annotated[int, Field(ge=0, le=100_000_00)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: object) -> object:
        # Every text field, whatever its type says: nothing that cannot be stored or that
        # hides or turns text (core.validation.text_problem). Line breaks are refused by the
        # patterns of the fields that hold one line.
        if isinstance(value, str):
            checked_lines(value)
        return value


class CommunityCreate(Schema):
    code: Annotated[str, Field(min_length=1, max_length=32), LINE]
    name: Name
    street: Name
    district: Name
    city: Name
    lat: Latitude
    lon: Longitude


class MealSlotCreate(Schema):
    slot: Slot
    cutoff_time: time
    cutoff_days_before: Annotated[int, Field(ge=0, le=7)] = 0
    delivery_start: time
    delivery_end: time

    @model_validator(mode="after")
    def _window_in_order(self) -> "MealSlotCreate":
        if self.delivery_end <= self.delivery_start:
            raise ValueError("delivery window ends before it starts")
        return self


class SiteCreate(Schema):
    code: Annotated[str, Field(min_length=1, max_length=32), LINE]
    name: Name
    kind: SiteKind
    address: Annotated[str, Field(min_length=1, max_length=200), LINE]
    lat: Latitude
    lon: Longitude
    community_id: RowId
    phone: Phone
    kitchen_id: RowId | None = None
    offers_delivery: bool = False
    offers_pickup: bool = False
    offers_dine_in: bool = False
    serves_community_ids: list[int] = []
    slots: list[MealSlotCreate] = []


class CategoryGrant(Schema):
    category: Category
    valid_from: date
    valid_to: date | None = None


class EmergencyContactCreate(Schema):
    name: PersonName
    relation: Relation
    phone: Phone
    priority: Annotated[int, Field(ge=1, le=9)] = 1


class ElderCreate(Schema):
    name: PersonName
    phone: Phone | None = None
    address: Address
    # Left out, the elder is placed at her address by the geocoder, else at her community's
    # centre and marked approximate (usecases.elders).
    lat: Latitude | None = None
    lon: Longitude | None = None
    community_id: RowId
    birth_date: SpreadsheetDate
    # Stored only as a keyed hash and its last four characters (core.id_numbers); None on a
    # change keeps the number there is.
    id_number: IdNumberText | None = None
    gender: Gender | None = None
    texture: Texture = Texture.regular
    diet_needs: list[DietTag] = []
    allergies: list[Allergen] = []
    service_mode: ServiceMode = ServiceMode.delivery
    home_site_id: RowId | None = None
    language: Annotated[str, Field(pattern=r"^(zh_CN|en)$")] = "zh_CN"
    notes: Notes | None = None
    categories: Annotated[list[CategoryGrant], Field(max_length=20)] = []
    emergency_contacts: Annotated[list[EmergencyContactCreate], Field(max_length=5)] = []
    # The elder (or a guardian) agreed to the programme keeping these details; given on paper,
    # recorded by the community worker. Phone numbers and addresses are sensitive (PIPL).
    consent: bool = False


class ElderUpdate(ElderCreate):
    """The whole record as the edit form sends it: categories and contacts replace the old."""

    status: ElderStatus = ElderStatus.active


class PauseCreate(Schema):
    start_date: date
    end_date: date
    reason: Reason | None = None


VariantCode = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[a-z0-9_]+$")]


class DishVariant(Schema):
    """A way a dish is cooked: its texture and the diets it suits (e.g. soft, low salt)."""

    code: VariantCode
    texture: Texture = Texture.regular
    diet_tags: list[DietTag] = []


class DishUpdate(Schema):
    name_zh: Name
    name_en: Annotated[str, Field(min_length=1, max_length=96), LINE]
    allergens: list[Allergen] = []
    diet_tags: list[DietTag] = []
    description: Annotated[str, Field(max_length=300)] | None = None
    variants: list[DishVariant] = []

    @model_validator(mode="after")
    def _variants_differ(self) -> "DishUpdate":
        codes = [variant.code for variant in self.variants]
        if len(codes) != len(set(codes)):
            raise ValueError("a variant is named twice")
        return self


class DishCreate(DishUpdate):
    code: Annotated[str, Field(min_length=1, max_length=32), LINE]


class MenuItemCreate(Schema):
    dish_id: RowId
    variant: Annotated[str, Field(min_length=1, max_length=24), LINE]
    texture: Texture = Texture.regular
    diet_tags: list[DietTag] = []
    price_fen: Fen
    position: Annotated[int, Field(ge=0, le=99)] = 0


class MenuItemUpdate(Schema):
    """A menu item's price, texture, diets or place; orders already placed keep their price."""

    texture: Texture | None = None
    diet_tags: list[DietTag] | None = None
    price_fen: Fen | None = None
    position: Annotated[int, Field(ge=0, le=99)] | None = None


class RiderCreate(Schema):
    name: Name
    phone: Phone
    kitchen_id: RowId
    mode: RiderMode = RiderMode.ebike
    capacity: Annotated[int, Field(ge=1, le=200)] = 30
    shift_start: time
    shift_end: time
