"""Menus for the programme admin: dishes (allergens, diets, variants) and each site's daily
menus per meal with prices, copying last week's; as pages and JSON. The rules live in
core.menus and each change's audit entry in usecases.menus; these views only read forms and
show refusals next to their fields."""

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, select

from api.deps import AdminStaff, ClockDep, LocaleDep, ReadSessionDep, SessionDep
from api.errors import STAFF_RESPONSES
from api.forms import field_errors, refusal_of
from api.templating import page
from core.clock import Clock, today
from core.errors import DomainError
from core.models import Dish, MealSlot, Site, saved
from core.schemas import DishCreate, DishUpdate, DishVariant, MenuItemCreate, MenuItemUpdate
from core.sites import get_site
from core.types import Allergen, DietTag, RowId, Slot, Texture
from kitchen.labels import VARIANT_NAMES
from usecases.menus import (
    MenuChoice,
    add_menu_item,
    copy_last_week,
    create_dish,
    get_dish,
    list_dishes,
    menu_item,
    price_fen_from_yuan,
    remove_menu_item,
    site_menus,
    update_dish,
    update_menu_item,
    week_of,
)

router = APIRouter(tags=["menus"], responses=STAFF_RESPONSES)
VARIANT_ROWS = 4  # variant rows on the dish form


# -- JSON shapes ------------------------------------------------------------------------------


class DishPublic(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    allergens: list[Allergen]
    diet_tags: list[DietTag]
    description: str | None
    variants: list[DishVariant]


class MenuItemPublic(BaseModel):
    item_id: RowId
    dish_id: RowId
    dish_zh: str
    dish_en: str
    variant: str
    texture: Texture
    diet_tags: list[str]
    allergens: list[str]
    price_fen: int
    position: int
    ordered: bool


class MenuPublic(BaseModel):
    menu_id: RowId
    service_date: date
    slot: Slot
    items: list[MenuItemPublic]


class MenuItemAdd(MenuItemCreate):
    """A dish variant put on a site's menu for one day and meal; the price in integer fen."""

    service_date: date
    slot: Slot


class CopiedWeekPublic(BaseModel):
    week: date
    copied: list[tuple[date, Slot]]
    kept: list[tuple[date, Slot]]


def _dish_public(dish: Dish) -> DishPublic:
    return DishPublic.model_validate(dish, from_attributes=True)


def _item_public(choice: MenuChoice, ordered: set[int]) -> MenuItemPublic:
    return MenuItemPublic(
        item_id=choice.item_id,
        dish_id=choice.dish_id,
        dish_zh=choice.name.zh,
        dish_en=choice.name.en,
        variant=choice.variant,
        texture=choice.texture,
        diet_tags=sorted(choice.diet_tags),
        allergens=sorted(choice.allergens),
        price_fen=choice.price_fen,
        position=choice.position,
        ordered=choice.item_id in ordered,
    )


def _week(week: date | None, clock: Clock) -> date:
    return week_of(week or today(clock))


# -- dishes -----------------------------------------------------------------------------------


@router.get("/api/v1/dishes", response_model=list[DishPublic])
def dishes_json(staff: AdminStaff, session: ReadSessionDep) -> list[DishPublic]:
    """Every dish with its allergens, diets and variants."""
    return [_dish_public(d) for d in list_dishes(session=session)]


@router.post("/api/v1/dishes", response_model=DishPublic, status_code=201)
def dish_create_json(
    dish_in: DishCreate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> DishPublic:
    """Create a dish."""
    dish = create_dish(session=session, clock=clock, actor=staff.actor, dish_in=dish_in)
    return _dish_public(dish)


@router.get("/api/v1/dishes/{dish_id}", response_model=DishPublic)
def dish_json(dish_id: RowId, staff: AdminStaff, session: ReadSessionDep) -> DishPublic:
    return _dish_public(get_dish(session=session, dish_id=dish_id))


@router.put("/api/v1/dishes/{dish_id}", response_model=DishPublic)
def dish_update_json(
    dish_id: RowId, dish_in: DishUpdate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> DishPublic:
    """Change a dish (everything but its code). Orders keep the dish as it was ordered."""
    dish = update_dish(
        session=session, clock=clock, actor=staff.actor, dish_id=dish_id, dish_in=dish_in
    )
    return _dish_public(dish)


class DishForm(BaseModel):
    """What the dish form posts. Variants come as parallel lists: a code and a texture per row,
    and each ticked diet tag as "row:tag". The code is read only when the dish is new."""

    code: str = Field("", max_length=200)
    name_zh: str = Field("", max_length=200)
    name_en: str = Field("", max_length=200)
    allergens: list[str] = []
    diet_tags: list[str] = []
    description: str = Field("", max_length=1000)
    variant_code: list[str] = []
    variant_texture: list[str] = []
    variant_diet: list[str] = []

    def values(self) -> dict[str, Any]:
        """The dish's fields as the services take them, for validation and to refill the form."""
        variants = []
        for index, code in enumerate(self.variant_code):
            if not code.strip():
                continue
            texture = self.variant_texture[index] if index < len(self.variant_texture) else ""
            tags = [v.split(":", 1)[1] for v in self.variant_diet if v.startswith(f"{index}:")]
            variants.append(
                {"code": code.strip(), "texture": texture or "regular", "diet_tags": tags}
            )
        return dict(
            name_zh=self.name_zh,
            name_en=self.name_en,
            allergens=self.allergens,
            diet_tags=self.diet_tags,
            description=self.description.strip() or None,
            variants=variants,
        )


def _dish_page(
    request: Request,
    session: Session,
    *,
    dish: Dish | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "dishes.html",
        {
            "dishes": list_dishes(session=session) if dish is None else [],
            "dish": dish,
            "form": form
            or {"variants": [{"code": "regular", "texture": "regular", "diet_tags": []}]},
            "errors": errors or {},
            "allergens": list(Allergen),
            "diet_tags": list(DietTag),
            "textures": list(Texture),
            "variant_styles": list(VARIANT_NAMES),
            "variant_rows": VARIANT_ROWS,
        },
        status,
    )


@router.get("/admin/dishes", response_class=HTMLResponse, include_in_schema=False)
def dishes_page(request: Request, staff: AdminStaff, session: ReadSessionDep) -> HTMLResponse:
    return _dish_page(request, session)


@router.post("/admin/dishes", response_class=HTMLResponse, include_in_schema=False)
def dish_create(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: Annotated[DishForm, Form()],
) -> Response:
    values = {**form.values(), "code": form.code}
    try:
        try:
            dish_in = DishCreate(**values)
        except ValidationError as error:
            raise refusal_of(error, ("variants",)) from None
        with session.begin_nested():
            dish = create_dish(session=session, clock=clock, actor=staff.actor, dish_in=dish_in)
    except DomainError as refusal:
        if refusal.code == "already_exists":
            refusal.params["field_code"] = "code"
        return _dish_page(
            request,
            session,
            form=values,
            errors=field_errors(refusal, locale),
            status=refusal.status,
        )
    return RedirectResponse(f"/admin/dishes/{dish.id}?saved=1", status_code=303)


@router.get("/admin/dishes/{dish_id}", response_class=HTMLResponse, include_in_schema=False)
def dish_page(
    request: Request, dish_id: RowId, staff: AdminStaff, session: ReadSessionDep
) -> HTMLResponse:
    dish = get_dish(session=session, dish_id=dish_id)
    return _dish_page(request, session, dish=dish, form=dish.model_dump())


@router.post("/admin/dishes/{dish_id}", response_class=HTMLResponse, include_in_schema=False)
def dish_update(
    request: Request,
    dish_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    form: Annotated[DishForm, Form()],
) -> Response:
    dish = get_dish(session=session, dish_id=dish_id)
    values = form.values()
    try:
        try:
            dish_in = DishUpdate(**values)
        except ValidationError as error:
            raise refusal_of(error, ("variants",)) from None
        with session.begin_nested():
            update_dish(
                session=session, clock=clock, actor=staff.actor, dish_id=dish_id, dish_in=dish_in
            )
    except DomainError as refusal:
        session.refresh(dish)
        return _dish_page(
            request,
            session,
            dish=dish,
            form={**values, "code": dish.code},
            errors=field_errors(refusal, locale),
            status=refusal.status,
        )
    return RedirectResponse(f"/admin/dishes/{dish_id}?saved=1", status_code=303)


# -- menus ------------------------------------------------------------------------------------


@router.get("/api/v1/sites/{site_id}/menus", response_model=list[MenuPublic])
def menus_json(
    site_id: RowId,
    staff: AdminStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    week: date | None = None,
) -> list[MenuPublic]:
    """A site's menus for the week (Monday to Sunday) that `week` falls in (default: this week)."""
    get_site(session=session, site_id=site_id)
    monday = _week(week, clock)
    return [
        MenuPublic(
            menu_id=m.menu_id,
            service_date=m.service_date,
            slot=m.slot,
            items=[_item_public(c, m.ordered_item_ids) for c in m.items],
        )
        for m in site_menus(
            session=session, site_id=site_id, first=monday, last=monday + timedelta(days=6)
        )
    ]


@router.post("/api/v1/sites/{site_id}/menus/items", response_model=MenuItemPublic, status_code=201)
def menu_item_add_json(
    site_id: RowId, item_in: MenuItemAdd, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> MenuItemPublic:
    """Put a dish variant on a site's menu for a day and meal, at a price in integer fen."""
    item = add_menu_item(
        session=session,
        clock=clock,
        actor=staff.actor,
        site_id=site_id,
        service_date=item_in.service_date,
        slot=item_in.slot,
        item_in=_item_create(item_in),
    )
    return _one_item(session, saved(item.id))


def _item_create(item_in: MenuItemAdd) -> MenuItemCreate:
    """The item without its day and meal, keeping which fields were given (a texture or diets
    not given come from the dish's variant)."""
    given = item_in.model_fields_set - {"service_date", "slot"}
    return MenuItemCreate(**item_in.model_dump(include=given))


def _date_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _one_item(session: Session, item_id: RowId) -> MenuItemPublic:
    on_menu = menu_item(session=session, item_id=item_id)
    ordered = {
        i
        for m in site_menus(
            session=session,
            site_id=on_menu.site_id,
            first=on_menu.service_date,
            last=on_menu.service_date,
        )
        for i in m.ordered_item_ids
    }
    return _item_public(on_menu.choice, ordered)


@router.patch("/api/v1/menu-items/{item_id}", response_model=MenuItemPublic)
def menu_item_update_json(
    item_id: RowId, item_in: MenuItemUpdate, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> MenuItemPublic:
    """Change a menu item's price (fen), texture, diets or place. Orders already placed keep
    the price they were placed at."""
    item = update_menu_item(
        session=session, clock=clock, actor=staff.actor, item_id=item_id, item_in=item_in
    )
    return _one_item(session, saved(item.id))


@router.delete("/api/v1/menu-items/{item_id}", status_code=204)
def menu_item_delete_json(
    item_id: RowId, staff: AdminStaff, session: SessionDep, clock: ClockDep
) -> Response:
    """Take an item off its menu; refused (409) once it has been ordered."""
    remove_menu_item(session=session, clock=clock, actor=staff.actor, item_id=item_id)
    return Response(status_code=204)


@router.post("/api/v1/sites/{site_id}/menus/copy-last-week", response_model=CopiedWeekPublic)
def copy_last_week_json(
    site_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    week: date | None = None,
) -> CopiedWeekPublic:
    """Copy the site's menus of the week before `week` (default: this week) into it; the
    days' meals that already have a menu are kept as they are."""
    copied = copy_last_week(
        session=session, clock=clock, actor=staff.actor, site_id=site_id, week=_week(week, clock)
    )
    return CopiedWeekPublic(**vars(copied))


def _menus_page(
    request: Request,
    session: Session,
    clock: Clock,
    site_id: RowId | None,
    week: date | None,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    copied: tuple[int, int] | None = None,
) -> HTMLResponse:
    sites = list(session.exec(select(Site).where(Site.active).order_by(Site.name)))
    site = get_site(session=session, site_id=site_id) if site_id else (sites[0] if sites else None)
    monday = _week(week, clock)
    days = [monday + timedelta(days=n) for n in range(7)]
    slots, menus = [], {}
    if site is not None:
        slots = sorted(
            (
                Slot(s)
                for s in session.exec(select(MealSlot.slot).where(MealSlot.site_id == site.id))
            ),
            key=list(Slot).index,
        )
        menus = {
            (m.service_date, m.slot): m
            for m in site_menus(
                session=session, site_id=saved(site.id), first=days[0], last=days[-1]
            )
        }
    dishes = list_dishes(session=session)
    return page(
        request,
        "menus.html",
        {
            "sites": sites,
            "site": site,
            "week": monday,
            "previous_week": monday - timedelta(days=7),
            "next_week": monday + timedelta(days=7),
            "days": days,
            "slots": slots,
            "menus": menus,
            "dishes": dishes,
            "textures": list(Texture),
            "diet_tags": list(DietTag),
            "form": form or {"service_date": today(clock).isoformat()},
            "errors": errors or {},
            "copied": copied,
        },
        status,
    )


def _menus_url(site_id: RowId, week: date, **extra: object) -> str:
    return "/admin/menus?" + urlencode({"site_id": site_id, "week": week.isoformat(), **extra})


@router.get("/admin/menus", response_class=HTMLResponse, include_in_schema=False)
def menus_page(
    request: Request,
    staff: AdminStaff,
    session: ReadSessionDep,
    clock: ClockDep,
    site_id: RowId | None = None,
    week: date | None = None,
    copied: int | None = Query(None, ge=0),
    kept: int | None = Query(None, ge=0),
) -> HTMLResponse:
    result = None if copied is None else (copied, kept or 0)
    return _menus_page(request, session, clock, site_id, week, copied=result)


@router.post("/admin/menus/items", response_class=HTMLResponse, include_in_schema=False)
def menu_item_add(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    site_id: Annotated[int, Form()],
    service_date: Annotated[str, Form(max_length=20)] = "",
    slot: Annotated[str, Form(max_length=20)] = "",
    dish_variant: Annotated[str, Form(max_length=140)] = "",
    dish_id: Annotated[str, Form(max_length=20)] = "",
    variant: Annotated[str, Form(max_length=100)] = "",
    texture: Annotated[str, Form(max_length=20)] = "",
    diet_tags: Annotated[list[str], Form()] = [],  # noqa: B006
    price: Annotated[str, Form(max_length=40)] = "",
    position: Annotated[str, Form(max_length=10)] = "0",
) -> Response:
    # The page offers each dish in its own variants as one choice, "dish id:variant", so a
    # variant the dish is not cooked in cannot be chosen; dish_id and variant apart still do.
    if dish_variant:
        dish_id, _, variant = dish_variant.partition(":")
    form = dict(
        service_date=service_date,
        slot=slot,
        dish_variant=dish_variant,
        dish_id=dish_id,
        variant=variant,
        texture=texture,
        diet_tags=diet_tags,
        price=price,
        position=position,
    )
    values: dict[str, Any] = dict(
        service_date=service_date,
        slot=slot,
        dish_id=dish_id,
        variant=variant,
        position=position or "0",
    )
    # Left out when not chosen: the dish's variant then gives its own texture and diets.
    if texture:
        values["texture"] = texture
    if diet_tags:
        values["diet_tags"] = diet_tags
    try:
        values["price_fen"] = price_fen_from_yuan(price)
        try:
            item_in = MenuItemAdd(**values)
        except ValidationError as error:
            raise refusal_of(error) from None
        with session.begin_nested():
            add_menu_item(
                session=session,
                clock=clock,
                actor=staff.actor,
                site_id=site_id,
                service_date=item_in.service_date,
                slot=item_in.slot,
                item_in=_item_create(item_in),
            )
    except DomainError as refusal:
        return _menus_page(
            request,
            session,
            clock,
            site_id,
            _date_or_none(service_date),
            form=form,
            errors=field_errors(refusal, locale),
            status=refusal.status,
        )
    day = item_in.service_date
    return RedirectResponse(_menus_url(site_id, day) + f"#menu-{day}-{slot}", status_code=303)


def _item_site_week(session: Session, item_id: RowId) -> tuple[int, date]:
    on_menu = menu_item(session=session, item_id=item_id)
    return on_menu.site_id, on_menu.service_date


@router.post("/admin/menu-items/{item_id}", response_class=HTMLResponse, include_in_schema=False)
def menu_item_price(
    request: Request,
    item_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
    price: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    site_id, day = _item_site_week(session, item_id)
    try:
        with session.begin_nested():
            update_menu_item(
                session=session,
                clock=clock,
                actor=staff.actor,
                item_id=item_id,
                item_in=MenuItemUpdate(price_fen=price_fen_from_yuan(price, f"price_{item_id}")),
            )
    except DomainError as refusal:
        return _menus_page(
            request,
            session,
            clock,
            site_id,
            day,
            errors=field_errors(refusal, locale),
            status=refusal.status,
        )
    return RedirectResponse(_menus_url(site_id, day) + f"#item-{item_id}", status_code=303)


@router.post(
    "/admin/menu-items/{item_id}/delete", response_class=HTMLResponse, include_in_schema=False
)
def menu_item_delete(
    request: Request,
    item_id: RowId,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    locale: LocaleDep,
) -> Response:
    site_id, day = _item_site_week(session, item_id)
    try:
        with session.begin_nested():
            remove_menu_item(session=session, clock=clock, actor=staff.actor, item_id=item_id)
    except DomainError as refusal:
        return _menus_page(
            request,
            session,
            clock,
            site_id,
            day,
            errors={f"item_{item_id}": refusal.render(locale)},
            status=refusal.status,
        )
    return RedirectResponse(_menus_url(site_id, day), status_code=303)


@router.post("/admin/menus/copy-last-week", response_class=HTMLResponse, include_in_schema=False)
def copy_last_week_form(
    request: Request,
    staff: AdminStaff,
    session: SessionDep,
    clock: ClockDep,
    site_id: Annotated[int, Form()],
    week: Annotated[date, Form()],
) -> RedirectResponse:
    copied = copy_last_week(
        session=session, clock=clock, actor=staff.actor, site_id=site_id, week=week
    )
    return RedirectResponse(
        _menus_url(site_id, copied.week, copied=len(copied.copied), kept=len(copied.kept)),
        status_code=303,
    )
