"""Whether a meal suits an elder: allergens, texture level and required diets. Pure functions."""

from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import AllergenConflict, DietConflict, DomainError, TextureConflict
from core.i18n import Bilingual
from core.types import Allergen, DietTag, Texture


@dataclass(frozen=True)
class DietProfile:
    name: str
    texture: Texture
    diet_needs: frozenset[str]
    allergies: frozenset[str]


@dataclass(frozen=True)
class MealProfile:
    dish_name: Bilingual
    texture: Texture
    diet_tags: frozenset[str]
    allergens: frozenset[str]


def profile_of_elder(
    name: str, texture: str, needs: Iterable[str], allergies: Iterable[str]
) -> DietProfile:
    return DietProfile(name, Texture(texture), frozenset(needs), frozenset(allergies))


def diet_problem(elder: DietProfile, meal: MealProfile) -> DomainError | None:
    """The first reason this meal would harm or not suit this elder, or None if it suits."""
    for allergen in sorted(elder.allergies & meal.allergens):
        return AllergenConflict(
            dish=meal.dish_name, allergen=_label(Allergen, allergen), name=elder.name
        )
    # A softer texture is safe for someone who can chew firmer food; never the other way round.
    if meal.texture.level > elder.texture.level:
        return TextureConflict(
            dish=meal.dish_name, texture=meal.texture, needed=elder.texture, name=elder.name
        )
    for need in sorted(elder.diet_needs - meal.diet_tags):
        return DietConflict(dish=meal.dish_name, need=_label(DietTag, need), name=elder.name)
    return None


def suits(elder: DietProfile, meal: MealProfile) -> bool:
    return diet_problem(elder, meal) is None


def style_distance(elder: DietProfile, meal: MealProfile) -> tuple[int, int]:
    """How far a meal that suits the elder is from her own style: texture levels softer than
    she needs, then diets she does not need. (0, 0) is her own style: a low-salt elder on
    regular food is low-salt, not soft or pureed, though those are safe for her too."""
    return elder.texture.level - meal.texture.level, len(meal.diet_tags - elder.diet_needs)


def _label(kind: type, value: str) -> object:
    try:
        return kind(value)
    except ValueError:
        return value


def special_texture(texture: str) -> str | None:
    """The elder's texture when the box must be told apart for it (anything but regular)."""
    return None if texture == Texture.regular else texture


def door_warnings(allergies: Iterable[str], texture: str) -> tuple[str, ...]:
    """What whoever packs or hands over an elder's box must not get wrong: each allergy, then
    a texture that is not the regular one. Codes: each surface names them in its reader's
    language. The one place this is worked out for the packing list, the route sheet, the
    rider's page and the rider's chat."""
    special = special_texture(texture)
    return tuple(allergies) + ((special,) if special else ())
