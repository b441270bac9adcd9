"""Validated inputs for creating and changing core records (table models do not validate)."""

from datetime import date, time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from core.types import (
    Allergen,
    Category,
    DietTag,
    ElderStatus,
    RiderMode,
    ServiceMode,
    SiteKind,
    Slot,
    Texture,
)

Name = Annotated[str, Field(min_length=1, max_length=64)]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 -]{4,19}$")]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Fen = Annotated[int, Field(ge=0, le=100_000_00)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CommunityCreate(Schema):
    code: Annotated[str, Field(min_length=1, max_length=32)]
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
    code: Annotated[str, Field(min_length=1, max_length=32)]
    name: Name
    kind: SiteKind
    address: Annotated[str, Field(min_length=1, max_length=200)]
    lat: Latitude
    lon: Longitude
    community_id: int
    phone: Phone
    kitchen_id: int | None = None
    offers_delivery: bool = False
    offers_pickup: bool = False
    offers_dine_in: bool = False
    serves_community_ids: list[int] = []
    slots: list[MealSlotCreate] = []


class CategoryGrant(Schema):
    category: Category
    valid_from: date
    valid_to: date | None = None

    @field_validator("valid_to")
    @classmethod
    def _ends_after_it_starts(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value < start:
            # A type of its own, so the form can say what is wrong next to the field.
            raise PydanticCustomError("period_order", "ends before it starts")
        return value


class EmergencyContactCreate(Schema):
    name: Name
    relation: Annotated[str, Field(min_length=1, max_length=32)]
    phone: Phone
    priority: Annotated[int, Field(ge=1, le=9)] = 1


class ElderCreate(Schema):
    name: Name
    phone: Phone | None = None
    address: Annotated[str, Field(min_length=1, max_length=200)]
    lat: Latitude
    lon: Longitude
    community_id: int
    birth_date: date
    gender: Annotated[str, Field(max_length=8)] | None = None
    texture: Texture = Texture.regular
    diet_needs: list[DietTag] = []
    allergies: list[Allergen] = []
    service_mode: ServiceMode = ServiceMode.delivery
    home_site_id: int | None = None
    language: Annotated[str, Field(pattern=r"^(zh_CN|en)$")] = "zh_CN"
    notes: Annotated[str, Field(max_length=500)] | None = None
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
    reason: Annotated[str, Field(max_length=200)] | None = None

    @field_validator("end_date")
    @classmethod
    def _ends_after_it_starts(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start_date")
        if start is not None and value < start:
            raise PydanticCustomError("period_order", "ends before it starts")
        return value


class DishCreate(Schema):
    code: Annotated[str, Field(min_length=1, max_length=32)]
    name_zh: Name
    name_en: Annotated[str, Field(min_length=1, max_length=96)]
    allergens: list[Allergen] = []
    diet_tags: list[DietTag] = []
    description: Annotated[str, Field(max_length=300)] | None = None


class MenuItemCreate(Schema):
    dish_id: int
    variant: Annotated[str, Field(min_length=1, max_length=24)]
    texture: Texture = Texture.regular
    diet_tags: list[DietTag] = []
    price_fen: Fen
    position: Annotated[int, Field(ge=0)] = 0


class RiderCreate(Schema):
    name: Name
    phone: Phone
    kitchen_id: int
    mode: RiderMode = RiderMode.ebike
    capacity: Annotated[int, Field(ge=1, le=200)] = 30
    shift_start: time
    shift_end: time
