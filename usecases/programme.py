"""A programme's whole set-up as one JSON file, and that file imported into another
installation: how a second district starts from the first. The file holds communities (with
their street and district), sites with their service areas and meals, riders, community
workers, dishes with their variants, the kitchen's ingredients and each dish's recipe, the
menus from today on (those before are history), funders, funds with their budgets, subsidy
rules and the billing policy; the elders' records only when asked (personal data), each with
her standing orders still running (active, not ended before today; their pauses are the
days' circumstances, a hospital stay, not set-up, and stay behind); never orders or money
moved. Records name each other by code (a site's community, a rule's funder and sites, a
menu's site and dishes), never by id, so ids may differ between installations.

Import adds what the installation does not have yet and keeps what it has (a community, site,
dish, ingredient, funder or fund of the same code; a menu of the same site, day and meal; a
rule of the same code and version; a rider of the same name at the same kitchen; a worker of
the same name in the same community; an elder of the same name and birth date in the same
community), reporting both: importing a file twice adds nothing the second time. A dish this
programme had keeps its own recipe, an elder she had her own standing orders, as a fund its
own budgets. Communities, sites, riders, workers, dishes, menus, elders and their standing
orders go through their use cases, so each is checked (and audited where its page is) as if
typed on its page; an ingredient counted otherwise here than in the file is refused, for
recipes in one unit would be read in another. A refusal anywhere names the section and entry
and leaves nothing written (the caller's transaction)."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, SQLModel, col, select

from billing.models import BillingPolicy, Fund, FundBudget, Funder, SubsidyRule
from core import audit
from core.clock import Clock, today
from core.errors import DomainError
from core.i18n import N_, gettext
from core.models import (
    Community,
    CommunityWorker,
    CommunityWorkerCommunity,
    Dish,
    District,
    Elder,
    ElderCategory,
    EmergencyContact,
    MealSlot,
    Menu,
    MenuItem,
    Rider,
    Site,
    SiteServiceArea,
    StandingOrder,
    Street,
    saved,
    table_of,
)
from core.schemas import (
    CommunityCreate,
    DishCreate,
    ElderCreate,
    MenuItemCreate,
    RiderCreate,
    Schema,
    SiteCreate,
)
from core.settings import Settings
from core.sites import district_of, street_of
from core.types import ElderStatus, Slot
from core.validation import invalid_input_from
from kitchen.models import (
    Ingredient,
    IngredientCreate,
    RecipeLine,
    RecipeLineCreate,
    UnitKind,
)
from usecases import elders, menus, ordering, setup

M = TypeVar("M", bound=SQLModel)
FORMAT = "mealaid-setup"
VERSION = 1
# What a programme's own history holds, not its set-up: a new installation starts at nothing.
HISTORY_COLUMNS = {"committed_fen"}
# An elder's own fields as the registry's form takes them (her community, home site,
# categories and contacts are written apart).
ELDER_FIELDS = (
    "name",
    "phone",
    "address",
    "lat",
    "lon",
    "birth_date",
    "gender",
    "texture",
    "diet_needs",
    "allergies",
    "service_mode",
    "language",
    "notes",
)
# A standing order's fields as create_standing_order takes them (her site is written apart).
STANDING_FIELDS = (
    "slot",
    "weekdays",
    "variant",
    "quantity",
    "mode",
    "start_date",
    "end_date",
)
SECTIONS = (
    "communities",
    "sites",
    "riders",
    "workers",
    "dishes",
    "ingredients",
    "recipes",
    "menus",
    "funders",
    "funds",
    "fund_budgets",
    "rules",
    "billing_policies",
)


class SetupFileInvalid(DomainError):
    code = "setup_file_invalid"
    message = N_(
        "This is not a MealAid set-up file (it should be the JSON file another programme's "
        "set-up page downloads)."
    )
    status = 422


class SetupEntryInvalid(DomainError):
    """One entry of the file is refused: which, and why, in the reader's language."""

    code = "setup_entry_invalid"
    message = N_("In the file's {section}, entry {number}: {problem}")
    status = 422

    def __init__(self, *, section: str, number: int, problem: DomainError | str) -> None:
        super().__init__(section=section, number=number)
        self.problem = problem

    def render(self, locale: str) -> str:
        problem = (
            self.problem.render(locale)
            if isinstance(self.problem, DomainError)
            else gettext(self.problem, locale)
        )
        names = {
            "communities": N_("communities"),
            "sites": N_("sites"),
            "riders": N_("riders"),
            "workers": N_("community workers"),
            "dishes": N_("dishes"),
            "ingredients": N_("ingredients"),
            "recipes": N_("recipes"),
            "menus": N_("menus"),
            "funders": N_("funders"),
            "funds": N_("funds"),
            "fund_budgets": N_("fund budgets"),
            "rules": N_("subsidy rules"),
            "billing_policies": N_("billing policies"),
            "elders": N_("elders"),
        }
        section = gettext(names.get(self.params["section"], self.params["section"]), locale)
        return gettext(self.message, locale).format(
            section=section, number=self.params["number"], problem=problem
        )


UNKNOWN_REFERENCE = N_("it names “{code}”, which is neither in the file nor in this programme.")
NOT_AN_ENTRY = N_("it is not an entry of the right shape.")


class IngredientKindDiffers(DomainError):
    code = "setup_ingredient_kind_differs"
    message = N_(
        "“{code}” is counted {here} in this programme and {there} in the file: recipes in one "
        "would be read wrongly in the other."
    )
    status = 422


class _MenuKey(Schema):
    """A menu's day and meal, read from the file as the menu page reads them."""

    service_date: date
    slot: Slot


@dataclass
class Imported:
    """How many entries of each section were added, and how many were there already."""

    added: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)

    def count(self, section: str, added: bool) -> None:
        counts = self.added if added else self.kept
        counts[section] = counts.get(section, 0) + 1


# -- export -------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _columns(row: SQLModel, skip: set[str]) -> dict[str, Any]:
    """A row's columns for the file: all but its id and those named in `skip` (references,
    written by code instead)."""
    return {
        column.name: _plain(getattr(row, column.name))
        for column in table_of(type(row)).columns
        if column.name != "id" and column.name not in skip
    }


def export_setup(
    *, session: Session, clock: Clock, actor: str, with_elders: bool = False
) -> dict[str, Any]:
    """The set-up as a JSON-ready dict (audited: the file names phone numbers of staff). With
    `with_elders`, the elders' records too (personal data: only when asked)."""
    communities = {
        saved(c.id): c for c in session.exec(select(Community).order_by(col(Community.id)))
    }
    sites = {saved(s.id): s for s in session.exec(select(Site).order_by(col(Site.id)))}
    dishes = {saved(d.id): d for d in session.exec(select(Dish).order_by(col(Dish.id)))}
    ingredients = {
        saved(i.id): i for i in session.exec(select(Ingredient).order_by(col(Ingredient.id)))
    }
    funders = {saved(f.id): f for f in session.exec(select(Funder).order_by(col(Funder.id)))}
    funds = {saved(f.id): f for f in session.exec(select(Fund).order_by(col(Fund.id)))}
    districts = {saved(d.id): d for d in session.exec(select(District))}
    streets = {saved(s.id): s for s in session.exec(select(Street))}
    covers: dict[int, list[str]] = {}
    for cover in session.exec(
        select(CommunityWorkerCommunity).order_by(col(CommunityWorkerCommunity.community_id))
    ):
        covers.setdefault(cover.worker_id, []).append(communities[cover.community_id].code)
    served: dict[int, list[str]] = {}
    for area in session.exec(select(SiteServiceArea)):
        served.setdefault(area.site_id, []).append(communities[area.community_id].code)
    slots: dict[int, list[dict[str, Any]]] = {}
    for meal in session.exec(select(MealSlot).order_by(col(MealSlot.id))):
        slots.setdefault(meal.site_id, []).append(_columns(meal, {"site_id"}))

    def place(district_id: int | None, street_id: int | None) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if district_id is not None and district_id in districts:
            district = districts[district_id]
            found["district_ref"] = {"city": district.city, "name": district.name}
        if street_id is not None and street_id in streets:
            street = streets[street_id]
            district = districts[street.district_id]
            found["street_ref"] = {
                "city": district.city,
                "district": district.name,
                "name": street.name,
            }
        return found

    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": clock.now().isoformat(),
        "communities": [_columns(c, {"street_id", "district_id"}) for c in communities.values()],
        "sites": [
            {
                **_columns(s, {"community_id", "kitchen_id"}),
                "community": communities[s.community_id].code,
                "kitchen": sites[s.kitchen_id].code if s.kitchen_id in sites else None,
                "serves": sorted(served.get(saved(s.id), [])),
                "slots": slots.get(saved(s.id), []),
            }
            for s in sites.values()
        ],
        "riders": [
            {**_columns(r, {"kitchen_id", "chat_user_id"}), "kitchen": sites[r.kitchen_id].code}
            for r in session.exec(select(Rider).order_by(col(Rider.id)))
        ],
        "workers": [
            {
                **_columns(w, {"community_id", "chat_user_id"}),
                "community": communities[w.community_id].code,
                "covers": covers.get(saved(w.id), []),
            }
            for w in session.exec(select(CommunityWorker).order_by(col(CommunityWorker.id)))
        ],
        "dishes": [_columns(d, set()) for d in dishes.values()],
        "ingredients": [_columns(i, set()) for i in ingredients.values()],
        "recipes": [
            {
                **_columns(r, {"dish_id", "ingredient_id"}),
                "dish": dishes[r.dish_id].code,
                "ingredient": ingredients[r.ingredient_id].code,
            }
            for r in session.exec(select(RecipeLine).order_by(col(RecipeLine.id)))
        ],
        "menus": _menus(session, today(clock), sites, dishes),
        "funders": [
            {
                **_columns(f, {"district_id", "street_id"}),
                **place(getattr(f, "district_id", None), getattr(f, "street_id", None)),
            }
            for f in funders.values()
        ],
        "funds": [
            {**_columns(f, {"funder_id"}), "funder": funders[f.funder_id].code}
            for f in funds.values()
        ],
        "fund_budgets": [
            {**_columns(b, {"fund_id"} | HISTORY_COLUMNS), "fund": funds[b.fund_id].code}
            for b in session.exec(select(FundBudget).order_by(col(FundBudget.id)))
        ],
        "rules": [
            {
                **_columns(r, {"funder_id", "fund_id", "site_ids"}),
                "funder": funders[r.funder_id].code,
                "fund": funds[r.fund_id].code if r.fund_id in funds else None,
                "sites": [sites[i].code for i in r.site_ids if i in sites],
            }
            for r in session.exec(select(SubsidyRule).order_by(col(SubsidyRule.id)))
        ],
        "billing_policies": [
            _columns(p, set())
            for p in session.exec(select(BillingPolicy).order_by(col(BillingPolicy.id)))
        ],
    }
    if with_elders:
        document["elders"] = _elders(session, today(clock), communities, sites)
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="export_setup",
        subject="programme",
        detail=_summary({s: len(document[s]) for s in (*SECTIONS, "elders") if s in document}),
    )
    return document


def _menus(
    session: Session, first: date, sites: dict[int, Site], dishes: dict[int, Dish]
) -> list[dict[str, Any]]:
    """The menus from `first` on (today's: a new programme starts serving from today), each
    with its items, its site and dishes by code."""
    items: dict[int, list[dict[str, Any]]] = {}
    for item in session.exec(
        select(MenuItem)
        .join(Menu, col(Menu.id) == col(MenuItem.menu_id))
        .where(col(Menu.service_date) >= first)
        .order_by(col(MenuItem.id))
    ):
        items.setdefault(item.menu_id, []).append(
            {**_columns(item, {"menu_id", "dish_id"}), "dish": dishes[item.dish_id].code}
        )
    return [
        {
            **_columns(menu, {"site_id"}),
            "site": sites[menu.site_id].code,
            "items": items.get(saved(menu.id), []),
        }
        for menu in session.exec(
            select(Menu).where(col(Menu.service_date) >= first).order_by(col(Menu.id))
        )
    ]


def _elders(
    session: Session, first: date, communities: dict[int, Community], sites: dict[int, Site]
) -> list[dict[str, Any]]:
    """Each elder as the registry's form takes her, her community and home site by code, and
    her standing orders still running on `first` (today) or later, their site by code. Not
    her ID number: it is kept only as a hash keyed with this installation's key, which another
    installation cannot match; not her chats, orders, bills or pauses."""
    categories: dict[int, list[dict[str, Any]]] = {}
    for grant in session.exec(select(ElderCategory).order_by(col(ElderCategory.id))):
        categories.setdefault(grant.elder_id, []).append(
            {
                "category": grant.category,
                "valid_from": grant.valid_from.isoformat(),
                "valid_to": grant.valid_to.isoformat() if grant.valid_to else None,
            }
        )
    contacts: dict[int, list[dict[str, Any]]] = {}
    for contact in session.exec(select(EmergencyContact).order_by(col(EmergencyContact.id))):
        contacts.setdefault(contact.elder_id, []).append(
            {
                "name": contact.name,
                "relation": contact.relation,
                "phone": contact.phone,
                "priority": contact.priority,
            }
        )
    standing: dict[int, list[dict[str, Any]]] = {}
    for order in session.exec(
        select(StandingOrder)
        .where(
            col(StandingOrder.active).is_(True),
            sa.or_(col(StandingOrder.end_date).is_(None), col(StandingOrder.end_date) >= first),
        )
        .order_by(col(StandingOrder.id))
    ):
        standing.setdefault(order.elder_id, []).append(
            {
                **_columns(order, {"elder_id", "site_id", "active", "created_at"}),
                "site": sites[order.site_id].code,
            }
        )
    fields = ELDER_FIELDS
    found = []
    for elder in session.exec(select(Elder).order_by(col(Elder.id))):
        elder_id = saved(elder.id)
        found.append(
            {
                **{name: _plain(getattr(elder, name)) for name in fields},
                "community": communities[elder.community_id].code,
                "home_site": sites[elder.home_site_id].code
                if elder.home_site_id in sites
                else None,
                "status": elder.status,
                "consent": elder.consent_at is not None,
                "categories": categories.get(elder_id, []),
                "emergency_contacts": contacts.get(elder_id, []),
                "standing_orders": standing.get(elder_id, []),
            }
        )
    return found


def export_json(*, session: Session, clock: Clock, actor: str, with_elders: bool = False) -> bytes:
    """The set-up file's bytes."""
    return dumped(export_setup(session=session, clock=clock, actor=actor, with_elders=with_elders))


def dumped(document: dict[str, Any]) -> bytes:
    """A set-up as its file holds it: UTF-8 JSON, Chinese as it is, one entry per line."""
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


# -- import -------------------------------------------------------------------------------------


def read_setup_file(data: bytes) -> dict[str, Any]:
    """The file's document, or SetupFileInvalid."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SetupFileInvalid() from None
    if not isinstance(document, dict):
        raise SetupFileInvalid()
    return document


def _entries(document: dict[str, Any], section: str) -> list[tuple[int, dict[str, Any]]]:
    entries = document.get(section, [])
    if not isinstance(entries, list):
        raise SetupFileInvalid()
    found = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise SetupEntryInvalid(section=section, number=number, problem=NOT_AN_ENTRY)
        found.append((number, entry))
    return found


def _by_code(session: Session, model: Any) -> dict[str, int]:
    return {code: id_ for id_, code in session.exec(select(model.id, model.code))}


def _entry(section: str, number: int, make: Callable[[], Any]) -> Any:
    """Run one entry's import; its refusal is named by section and entry."""
    try:
        return make()
    except SetupEntryInvalid:
        raise
    except DomainError as refusal:
        raise SetupEntryInvalid(section=section, number=number, problem=refusal) from None
    except ValidationError as error:
        problem = invalid_input_from(error.errors())
        raise SetupEntryInvalid(section=section, number=number, problem=problem) from None
    except (ValueError, TypeError, KeyError):
        raise SetupEntryInvalid(section=section, number=number, problem=NOT_AN_ENTRY) from None


class _Missing(DomainError):
    code = "setup_reference_missing"
    message = UNKNOWN_REFERENCE


def _ref(ids: dict[str, int], code: Any) -> int:
    if not isinstance(code, str) or code not in ids:
        raise _Missing(code=str(code))
    return ids[code]


def _row_values(model: type[SQLModel], entry: dict[str, Any]) -> dict[str, Any]:
    """An entry's columns as this installation's table has them: unknown names are left out
    (a file from a newer version), dates and times read back, history columns at nothing."""
    values: dict[str, Any] = {}
    for column in table_of(model).columns:
        name = column.name
        if name == "id" or name not in entry:
            continue
        value = entry[name]
        if name in HISTORY_COLUMNS:
            value = 0
        elif value is not None and isinstance(value, str):
            python_type = _python_type(column)
            if python_type is date:
                value = date.fromisoformat(value)
            elif python_type is datetime:
                value = datetime.fromisoformat(value)
            elif python_type is time:
                value = time.fromisoformat(value)
        values[name] = value
    return values


def _python_type(column: sa.Column[Any]) -> type | None:
    try:
        python_type: type = column.type.python_type
    except NotImplementedError:
        return None
    return python_type


def import_setup(
    *, session: Session, clock: Clock, settings: Settings, actor: str, document: dict[str, Any]
) -> Imported:
    """Add the file's set-up to this programme (see the module's note; standing orders by the
    settings' limits, as any order); the caller commits."""
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise SetupFileInvalid()
    imported = Imported()

    communities = _by_code(session, Community)
    for number, entry in _entries(document, "communities"):
        code = entry.get("code")
        if code in communities:
            imported.count("communities", False)
            continue

        def add_community(entry: dict[str, Any] = entry) -> Community:
            fields = {k: entry.get(k) for k in CommunityCreate.model_fields}
            return setup.create_community(
                session=session,
                clock=clock,
                actor=actor,
                community_in=CommunityCreate.model_validate(fields),
            )

        community = _entry("communities", number, add_community)
        communities[community.code] = saved(community.id)
        imported.count("communities", True)

    sites = _by_code(session, Site)
    site_entries = _entries(document, "sites")
    # Kitchens first: a canteen names the kitchen that cooks for it.
    site_entries.sort(key=lambda pair: pair[1].get("kind") != "central_kitchen")
    for number, entry in site_entries:
        code = entry.get("code")
        if code in sites:
            imported.count("sites", False)
            continue

        def add_site(entry: dict[str, Any] = entry) -> Site:
            kitchen = entry.get("kitchen")
            own = kitchen == entry.get("code")
            fields = {
                k: entry.get(k)
                for k in SiteCreate.model_fields
                if k not in ("community_id", "kitchen_id", "serves_community_ids", "slots")
                and k in entry
            }
            site_in = SiteCreate.model_validate(
                {
                    **fields,
                    "community_id": _ref(communities, entry.get("community")),
                    "kitchen_id": None if kitchen is None or own else _ref(sites, kitchen),
                    "serves_community_ids": [
                        _ref(communities, c) for c in entry.get("serves") or []
                    ],
                    "slots": entry.get("slots") or [],
                }
            )
            site = setup.create_site(session=session, clock=clock, actor=actor, site_in=site_in)
            if entry.get("active") is False:
                site.active = False
                session.add(site)
            return site

        site = _entry("sites", number, add_site)
        sites[site.code] = saved(site.id)
        imported.count("sites", True)

    riders = {(r.kitchen_id, r.name) for r in session.exec(select(Rider))}
    for number, entry in _entries(document, "riders"):

        def add_rider(entry: dict[str, Any] = entry) -> bool:
            kitchen_id = _ref(sites, entry.get("kitchen"))
            if (kitchen_id, entry.get("name")) in riders:
                return False
            fields = {k: entry[k] for k in RiderCreate.model_fields if k in entry}
            rider = setup.create_rider(
                session=session,
                clock=clock,
                actor=actor,
                rider_in=RiderCreate.model_validate({**fields, "kitchen_id": kitchen_id}),
            )
            if entry.get("active") is False:
                rider.active = False
                session.add(rider)
            riders.add((kitchen_id, rider.name))
            return True

        imported.count("riders", _entry("riders", number, add_rider))

    workers = {(w.community_id, w.name) for w in session.exec(select(CommunityWorker))}
    for number, entry in _entries(document, "workers"):

        def add_worker(entry: dict[str, Any] = entry) -> bool:
            community_id = _ref(communities, entry.get("community"))
            # A file from before workers covered several communities has no "covers".
            also = entry.get("covers", [])
            if not isinstance(also, list):
                raise _Missing(code=str(also))
            community_ids = [_ref(communities, code) for code in also]
            if (community_id, entry.get("name")) in workers:
                return False
            worker = setup.create_worker(
                session=session,
                clock=clock,
                actor=actor,
                worker_in=setup.WorkerCreate.model_validate(
                    {
                        "community_id": community_id,
                        "community_ids": community_ids,
                        "name": entry.get("name"),
                        "phone": entry.get("phone"),
                    }
                ),
            )
            if entry.get("active") is False:
                worker.active = False
                session.add(worker)
            workers.add((community_id, worker.name))
            return True

        imported.count("workers", _entry("workers", number, add_worker))

    dishes = _by_code(session, Dish)
    new_dishes: set[int] = set()
    for number, entry in _entries(document, "dishes"):
        if entry.get("code") in dishes:
            imported.count("dishes", False)
            continue

        def add_dish(entry: dict[str, Any] = entry) -> Dish:
            fields = {k: entry[k] for k in DishCreate.model_fields if k in entry}
            return menus.create_dish(
                session=session,
                clock=clock,
                actor=actor,
                dish_in=DishCreate.model_validate(fields),
            )

        dish = _entry("dishes", number, add_dish)
        dishes[dish.code] = saved(dish.id)
        new_dishes.add(saved(dish.id))
        imported.count("dishes", True)

    _import_recipes(session, document, imported, dishes, new_dishes)
    _import_menus(session, clock, actor, document, imported, sites, dishes)
    _import_policy(session, document, imported, sites)
    if "elders" in document:
        _import_elders(session, clock, settings, actor, document, imported, communities, sites)
    audit.record(
        session=session,
        clock=clock,
        actor=actor,
        action="import_setup",
        subject="programme",
        detail=_summary(imported.added),
    )
    session.flush()
    return imported


def _import_recipes(
    session: Session,
    document: dict[str, Any],
    imported: Imported,
    dishes: dict[str, int],
    new_dishes: set[int],
) -> None:
    """The kitchen's ingredients (by code) and the recipes of the dishes this import added:
    rows of the kitchen's tables, checked as its schemas say (there is no page for them)."""
    ingredients = {i.code: i for i in session.exec(select(Ingredient))}
    for number, entry in _entries(document, "ingredients"):

        def add_ingredient(entry: dict[str, Any] = entry) -> bool:
            fields = {k: entry.get(k) for k in IngredientCreate.model_fields}
            ingredient_in = IngredientCreate.model_validate(fields)
            here = ingredients.get(ingredient_in.code)
            if here is not None:
                if here.kind != ingredient_in.kind:
                    raise IngredientKindDiffers(
                        code=here.code, here=UnitKind(here.kind), there=ingredient_in.kind
                    )
                return False
            values = ingredient_in.model_dump(mode="json")
            ingredients[ingredient_in.code] = _insert(session, Ingredient, values)
            return True

        imported.count("ingredients", _entry("ingredients", number, add_ingredient))

    ingredient_ids = {code: saved(i.id) for code, i in ingredients.items()}
    for number, entry in _entries(document, "recipes"):

        def add_line(entry: dict[str, Any] = entry) -> bool:
            dish_id = _ref(dishes, entry.get("dish"))
            ingredient_id = _ref(ingredient_ids, entry.get("ingredient"))
            if dish_id not in new_dishes:
                return False  # a dish this programme had keeps its own recipe
            line_in = RecipeLineCreate.model_validate(
                {
                    "dish_id": dish_id,
                    "ingredient_id": ingredient_id,
                    "milli_per_portion": entry.get("milli_per_portion"),
                }
            )
            _insert(session, RecipeLine, line_in.model_dump())
            return True

        imported.count("recipes", _entry("recipes", number, add_line))


def _import_menus(
    session: Session,
    clock: Clock,
    actor: str,
    document: dict[str, Any],
    imported: Imported,
    sites: dict[str, int],
    dishes: dict[str, int],
) -> None:
    """Menus through the menus' use case (each item checked as on the menu page: the site
    serves that meal, the dish is cooked in that variant, a price in range); a menu this
    programme has for that site, day and meal is kept as it is, items and prices."""
    there = {(m.site_id, m.service_date, m.slot) for m in session.exec(select(Menu))}
    for number, entry in _entries(document, "menus"):

        def add_menu(entry: dict[str, Any] = entry) -> bool:
            site_id = _ref(sites, entry.get("site"))
            key = _MenuKey.model_validate(
                {"service_date": entry.get("service_date"), "slot": entry.get("slot")}
            )
            if (site_id, key.service_date, key.slot.value) in there:
                return False
            listed = entry.get("items")
            if not isinstance(listed, list) or not all(isinstance(i, dict) for i in listed):
                raise ValueError("items")
            items = [
                MenuItemCreate.model_validate(
                    {
                        **{k: item[k] for k in MenuItemCreate.model_fields if k in item},
                        "dish_id": _ref(dishes, item.get("dish")),
                    }
                )
                for item in listed
            ]
            menus.publish_menu(
                session=session,
                clock=clock,
                actor=actor,
                site_id=site_id,
                service_date=key.service_date,
                slot=key.slot,
                items=items,
            )
            there.add((site_id, key.service_date, key.slot.value))
            return True

        imported.count("menus", _entry("menus", number, add_menu))


def _import_policy(
    session: Session, document: dict[str, Any], imported: Imported, sites: dict[str, int]
) -> None:
    """Funders, funds, their budgets, rules and the billing policy: rows of the billing
    tables as the file has them, references read by code."""
    funders = _by_code(session, Funder)
    for number, entry in _entries(document, "funders"):
        if entry.get("code") in funders:
            imported.count("funders", False)
            continue

        def add_funder(entry: dict[str, Any] = entry) -> Funder:
            values = _row_values(Funder, entry)
            district_ref, street_ref = entry.get("district_ref"), entry.get("street_ref")
            if isinstance(district_ref, dict) and "district_id" in table_of(Funder).columns:
                district = district_of(
                    session=session, city=district_ref["city"], name=district_ref["name"]
                )
                values["district_id"] = district.id
            if isinstance(street_ref, dict) and "street_id" in table_of(Funder).columns:
                district = district_of(
                    session=session, city=street_ref["city"], name=street_ref["district"]
                )
                values["street_id"] = street_of(
                    session=session, district=district, name=street_ref["name"]
                ).id
            return _insert(session, Funder, values)

        funder = _entry("funders", number, add_funder)
        funders[funder.code] = saved(funder.id)
        imported.count("funders", True)

    funds = _by_code(session, Fund)
    new_funds: set[int] = set()
    for number, entry in _entries(document, "funds"):
        if entry.get("code") in funds:
            imported.count("funds", False)
            continue

        def add_fund(entry: dict[str, Any] = entry) -> Fund:
            values = {**_row_values(Fund, entry), "funder_id": _ref(funders, entry.get("funder"))}
            return _insert(session, Fund, values)

        fund = _entry("funds", number, add_fund)
        funds[fund.code] = saved(fund.id)
        new_funds.add(saved(fund.id))
        imported.count("funds", True)

    for number, entry in _entries(document, "fund_budgets"):

        def add_budget(entry: dict[str, Any] = entry) -> bool:
            fund_id = _ref(funds, entry.get("fund"))
            if fund_id not in new_funds:
                return False  # a fund this programme had keeps its own budgets
            _insert(session, FundBudget, {**_row_values(FundBudget, entry), "fund_id": fund_id})
            return True

        imported.count("fund_budgets", _entry("fund_budgets", number, add_budget))

    rules = {
        (code, version)
        for code, version in session.exec(select(SubsidyRule.code, SubsidyRule.version))
    }
    for number, entry in _entries(document, "rules"):

        def add_rule(entry: dict[str, Any] = entry) -> bool:
            if (entry.get("code"), entry.get("version", 1)) in rules:
                return False
            fund = entry.get("fund")
            values = {
                **_row_values(SubsidyRule, entry),
                "funder_id": _ref(funders, entry.get("funder")),
                "fund_id": None if fund is None else _ref(funds, fund),
                "site_ids": [_ref(sites, code) for code in entry.get("sites") or []],
            }
            rule = _insert(session, SubsidyRule, values)
            rules.add((rule.code, rule.version))
            return True

        imported.count("rules", _entry("rules", number, add_rule))

    policies = set(session.exec(select(col(BillingPolicy.effective_from))))
    for number, entry in _entries(document, "billing_policies"):

        def add_policy(entry: dict[str, Any] = entry) -> bool:
            values = _row_values(BillingPolicy, entry)
            if values.get("effective_from") in policies:
                return False
            _insert(session, BillingPolicy, values)
            policies.add(values["effective_from"])
            return True

        imported.count("billing_policies", _entry("billing_policies", number, add_policy))


def _import_elders(
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: str,
    document: dict[str, Any],
    imported: Imported,
    communities: dict[str, int],
    sites: dict[str, int],
) -> None:
    """Elders through the registry's use case (checked and audited as if typed), and the
    standing orders of each she added through the ordering use case (checked as if ordered in
    the chat); one of the same name and birth date in the same community is there already
    and kept, with her own standing orders."""
    there = {
        (e.name, e.birth_date.isoformat(), e.community_id) for e in session.exec(select(Elder))
    }
    for number, entry in _entries(document, "elders"):

        def add_elder(entry: dict[str, Any] = entry) -> bool:
            community_id = _ref(communities, entry.get("community"))
            # A file from before standing orders travelled has none.
            standing = entry.get("standing_orders", [])
            if not isinstance(standing, list) or not all(isinstance(s, dict) for s in standing):
                raise ValueError("standing_orders")
            if (entry.get("name"), entry.get("birth_date"), community_id) in there:
                for _ in standing:
                    imported.count("standing_orders", False)
                return False
            home = entry.get("home_site")
            fields = {k: entry[k] for k in ELDER_FIELDS if k in entry}
            elder_in = ElderCreate.model_validate(
                {
                    **fields,
                    "community_id": community_id,
                    "home_site_id": None if home is None else _ref(sites, home),
                    "consent": bool(entry.get("consent")),
                    "categories": entry.get("categories") or [],
                    "emergency_contacts": entry.get("emergency_contacts") or [],
                }
            )
            elder = elders.register_elder(
                session=session, clock=clock, actor=actor, elder_in=elder_in
            )
            for order in standing:
                ordering.create_standing_order(
                    session=session,
                    clock=clock,
                    settings=settings,
                    elder_id=saved(elder.id),
                    site_id=_ref(sites, order.get("site")),
                    **{k: order[k] for k in STANDING_FIELDS if k in order},
                )
                imported.count("standing_orders", True)
            if entry.get("status") and entry["status"] != elder.status:
                elder.status = ElderStatus(entry["status"])
                session.add(elder)
            there.add((elder.name, elder.birth_date.isoformat(), community_id))
            return True

        imported.count("elders", _entry("elders", number, add_elder))


class _RowRefused(DomainError):
    code = "setup_row_refused"
    message = N_("the database refused it (a value out of range, or one it already has).")


def _insert(session: Session, model: type[M], values: dict[str, Any]) -> M:
    """One billing row, in a savepoint: a row the database refuses leaves nothing."""
    row = model(**values)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except (sa.exc.IntegrityError, sa.exc.DataError, sa.exc.StatementError):
        raise _RowRefused() from None
    return row


def _summary(counts: dict[str, int]) -> str:
    return " ".join(f"{section}:{n}" for section, n in counts.items() if n)
