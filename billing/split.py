"""The four-way split of a meal's price among government, business, charity and the elder.
Pure: data in, data out; exact fractions inside, whole fen out by the largest-remainder method."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from math import floor

from billing.models import Layer, Share


@dataclass(frozen=True)
class Terms:
    """A subsidy rule as the split reads it (conditions, amount, caps), with its funder."""

    rule_id: int
    funder_id: int
    share: Share
    layer: Layer | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    district_id: int | None = None
    street_id: int | None = None
    categories: frozenset[str] = frozenset()
    excluded_categories: frozenset[str] = frozenset()
    min_age: int | None = None
    site_ids: frozenset[int] = frozenset()
    slots: frozenset[str] = frozenset()
    weekdays: frozenset[int] = frozenset()
    amount_fen: int | None = None
    percent_bp: int | None = None
    cap_per_meal_fen: int | None = None
    priority: int = 100
    stacks: bool = False
    fund_id: int | None = None

    def __post_init__(self) -> None:
        if (self.amount_fen is None) == (self.percent_bp is None):
            raise ValueError(f"rule {self.rule_id}: give exactly one of amount_fen, percent_bp")
        for name in ("amount_fen", "percent_bp", "cap_per_meal_fen"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"rule {self.rule_id}: {name} must not be negative")
        if self.share == Share.elder:
            raise ValueError(f"rule {self.rule_id}: the elder's share is what is left, not a rule")


@dataclass(frozen=True)
class Meal:
    """One order to split: its price, portions, when and where, and who eats it."""

    price_fen: int
    portions: int
    service_date: date
    slot: str
    site_id: int
    site_city: str
    site_district: str
    site_street: str
    elder_city: str
    elder_district: str
    elder_street: str
    elder_age: int
    categories: frozenset[str] = frozenset()
    # The jurisdictions by id (the names above may repeat: a 北京街 in two districts).
    site_district_id: int | None = None
    site_street_id: int | None = None
    elder_district_id: int | None = None
    elder_street_id: int | None = None

    def __post_init__(self) -> None:
        if self.price_fen < 0:
            raise ValueError("price_fen must not be negative")
        if self.portions < 1:
            raise ValueError("portions must be at least 1")


@dataclass(frozen=True)
class Limits:
    """What is left to spend: per fund, and per rule for this elder (day and month caps)."""

    fund_remaining: Mapping[int, int] = field(default_factory=dict)
    cap_remaining: Mapping[int, int] = field(default_factory=dict)
    elder_min_payment_fen: int = 0


@dataclass(frozen=True)
class Allocation:
    share: Share
    amount_fen: int
    rule_id: int | None = None
    funder_id: int | None = None
    fund_id: int | None = None


@dataclass(frozen=True)
class Split:
    price_fen: int
    allocations: tuple[Allocation, ...]

    def total(self, share: Share) -> int:
        return sum(a.amount_fen for a in self.allocations if a.share == share)

    @property
    def elder_fen(self) -> int:
        return self.total(Share.elder)

    @property
    def shares(self) -> dict[Share, int]:
        return {share: self.total(share) for share in Share}


def applies(terms: Terms, meal: Meal) -> bool:
    """Whether a rule's conditions hold for this meal, jurisdiction included."""
    if terms.categories and not terms.categories & meal.categories:
        return False
    if terms.excluded_categories & meal.categories:
        return False
    if terms.min_age is not None and meal.elder_age < terms.min_age:
        return False
    if terms.site_ids and meal.site_id not in terms.site_ids:
        return False
    if terms.slots and meal.slot not in terms.slots:
        return False
    if terms.weekdays and meal.service_date.isoweekday() not in terms.weekdays:
        return False
    # As in Guangzhou: a district or street pays only for its own residents eating inside it;
    # the city pays for its residents anywhere in the city.
    if terms.layer == Layer.city:
        return meal.site_city == terms.city == meal.elder_city
    # A district or street by id; by name only for a funder whose street could not be told
    # apart by name when ids came in (migration 0025), until someone chooses it.
    if terms.layer == Layer.district:
        if terms.district_id is not None:
            return meal.site_district_id == terms.district_id == meal.elder_district_id
        return meal.site_district == terms.district == meal.elder_district
    if terms.layer == Layer.street:
        if terms.street_id is not None:
            return meal.site_street_id == terms.street_id == meal.elder_street_id
        return meal.site_street == terms.street == meal.elder_street
    return True


def split(meal: Meal, rules: Sequence[Terms], limits: Limits) -> Split:
    """Split the price: rules apply in priority order, each limited by its per-meal cap, the
    elder's remaining cap, its fund's remaining budget and what is left above the elder's
    minimum payment; the elder pays the rest. Shares are whole fen, never negative, and sum to
    the price exactly."""
    candidates = [terms for terms in rules if applies(terms, meal)]
    chosen = _most_favourable_government(candidates, meal, limits) + [
        terms for terms in candidates if not (terms.share == Share.government and not terms.stacks)
    ]
    chosen.sort(key=lambda terms: (terms.priority, terms.rule_id))

    minimum = min(meal.price_fen, limits.elder_min_payment_fen * meal.portions)
    coverable = Fraction(meal.price_fen - minimum)
    fund_left = {fund: Fraction(left) for fund, left in limits.fund_remaining.items()}
    exact: list[tuple[Terms, Fraction]] = []
    for terms in chosen:
        amount = min(_ceiling(terms, meal, limits), coverable)
        if terms.fund_id is not None:
            amount = min(amount, fund_left.get(terms.fund_id, Fraction(0)))
            fund_left[terms.fund_id] = fund_left.get(terms.fund_id, Fraction(0)) - amount
        if amount > 0:
            exact.append((terms, amount))
            coverable -= amount
    elder = Fraction(meal.price_fen) - sum((amount for _, amount in exact), Fraction(0))
    rounded = _largest_remainder([amount for _, amount in exact] + [elder], meal.price_fen)
    allocations = [
        Allocation(terms.share, fen, terms.rule_id, terms.funder_id, terms.fund_id)
        for (terms, _), fen in zip(exact, rounded, strict=False)
        if fen > 0
    ]
    allocations.append(Allocation(Share.elder, rounded[-1]))
    return Split(meal.price_fen, tuple(allocations))


def _ceiling(terms: Terms, meal: Meal, limits: Limits) -> Fraction:
    """The most this rule could pay for this meal before the fund and the remainder limit it."""
    if terms.amount_fen is not None:
        amount = Fraction(terms.amount_fen * meal.portions)
    else:
        amount = Fraction(meal.price_fen * terms.percent_bp, 10_000)  # type: ignore[operator]  # percent_bp is set when amount_fen is not (Terms.__post_init__)
    if terms.cap_per_meal_fen is not None:
        amount = min(amount, Fraction(terms.cap_per_meal_fen * meal.portions))
    if terms.rule_id in limits.cap_remaining:
        amount = min(amount, Fraction(max(0, limits.cap_remaining[terms.rule_id])))
    return max(amount, Fraction(0))


def _most_favourable_government(
    candidates: Sequence[Terms], meal: Meal, limits: Limits
) -> list[Terms]:
    """Of the government rules that do not stack, the one worth most to this elder now."""
    exclusive = [t for t in candidates if t.share == Share.government and not t.stacks]
    if not exclusive:
        return []

    def worth(terms: Terms) -> tuple[Fraction, int, int]:
        amount = _ceiling(terms, meal, limits)
        if terms.fund_id is not None:
            amount = min(amount, Fraction(limits.fund_remaining.get(terms.fund_id, 0)))
        return (amount, -terms.priority, -terms.rule_id)

    return [max(exclusive, key=worth)]


def _largest_remainder(exact: Sequence[Fraction], total: int) -> list[int]:
    """Round exact amounts to whole fen summing to `total`: floor each, then give the fen still
    missing to the largest remainders (earlier entries first on ties)."""
    floors = [floor(amount) for amount in exact]
    missing = total - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for index in order[:missing]:
        floors[index] += 1
    return floors
