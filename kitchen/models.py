"""What the kitchen cooks with: ingredients and each dish's recipe per portion."""

from typing import Annotated

import pydantic
import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.i18n import N_
from core.schemas import Name, Schema
from core.types import LABELS, Labelled, RowId
from core.validation import LINE


class UnitKind(Labelled):
    """Ingredients are counted in one base unit each: grams, millilitres or pieces."""

    mass = "mass"
    volume = "volume"
    count = "count"  # type: ignore[assignment]  # the stored word; hides str.count, unused on it


LABELS.add(
    UnitKind,
    {
        UnitKind.mass: N_("by weight"),
        UnitKind.volume: N_("by volume"),
        UnitKind.count: N_("by the piece"),
    },
)


class Ingredient(SQLModel, table=True):
    __tablename__ = "ingredient"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=96)
    kind: UnitKind = Field(sa_type=sa.String(8))


class RecipeLine(SQLModel, table=True):
    """How much of an ingredient one portion of a dish takes, in thousandths of the base unit
    (milligrams, microlitres, thousandths of a piece): whole numbers, no rounding drift."""

    __tablename__ = "recipe_line"
    __table_args__ = (
        sa.UniqueConstraint("dish_id", "ingredient_id"),
        sa.CheckConstraint("milli_per_portion > 0", name="quantity_positive"),
    )
    id: int | None = Field(default=None, primary_key=True)
    dish_id: int = Field(foreign_key="dish.id", index=True)
    ingredient_id: int = Field(foreign_key="ingredient.id")
    milli_per_portion: int


class IngredientCreate(Schema):
    code: Annotated[str, pydantic.Field(min_length=1, max_length=32), LINE]
    name_zh: Name
    name_en: Annotated[str, pydantic.Field(min_length=1, max_length=96), LINE]
    kind: UnitKind


class RecipeLineCreate(Schema):
    dish_id: RowId
    ingredient_id: RowId
    # Thousandths of the base unit, at most ten thousand units (10 kg, 10 l) a portion.
    milli_per_portion: Annotated[int, pydantic.Field(gt=0, le=10_000_000)]
