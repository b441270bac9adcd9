"""Typed refusals raised by the services. Each carries a translatable message and the values that
fill it; every surface renders it in the reader's language and writes nothing."""

from typing import Any, ClassVar

from core.i18n import N_, render


class DomainError(Exception):
    """A rule said no. `code` is stable for APIs; `message` is an English msgid."""

    code: ClassVar[str] = "domain_error"
    message: ClassVar[str] = N_("This request could not be carried out.")
    status: ClassVar[int] = 400

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(f"{self.code}: {params}")

    def render(self, locale: str) -> str:
        return render(self.message, locale, self.params)


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class InvalidInput(DomainError):
    code = "invalid_input"
    message = N_("Please check “{field}”: {problem}")
    status = 422


class ElderNotFound(NotFound):
    code = "elder_not_found"
    message = N_("We could not find this elder.")


class ElderInactive(DomainError):
    code = "elder_inactive"
    message = N_("{name} is not registered for meals at the moment.")


class ElderPaused(DomainError):
    code = "elder_paused"
    message = N_("Meals for {name} are paused on {date}.")


class SiteNotFound(NotFound):
    code = "site_not_found"
    message = N_("We could not find this meal site.")


class SlotNotOffered(DomainError):
    code = "slot_not_offered"
    message = N_("{site} does not serve {slot}.")


class ModeNotOffered(DomainError):
    code = "mode_not_offered"
    message = N_("{site} does not offer {mode}.")


class OutsideServiceArea(DomainError):
    code = "outside_service_area"
    message = N_("{site} does not deliver to where {name} lives.")


class DateInPast(DomainError):
    code = "date_in_past"
    message = N_("{date} has already passed.")


class DateTooFar(DomainError):
    code = "date_too_far"
    message = N_("Orders can be placed at most {days} days ahead.")


class CutoffPassed(Conflict):
    code = "cutoff_passed"
    message = N_(
        "Orders for {slot} on {date} closed at {cutoff}. Please call {phone} if you need help."
    )


class MealOver(Conflict):
    code = "meal_over"
    message = N_("Serving {slot} on {date} ended at {end}.")


class StillOrderable(Conflict):
    code = "still_orderable"
    message = N_(
        "Orders for {slot} on {date} are open until {cutoff}: please place an order for it."
    )


class NotOnMenu(DomainError):
    code = "not_on_menu"
    message = N_("This meal is not on the menu for {slot} on {date}.")


class NoMenu(NotFound):
    code = "no_menu"
    message = N_("There is no menu yet for {slot} on {date}.")


class AllergenConflict(DomainError):
    code = "allergen_conflict"
    message = N_("{dish} contains {allergen}, which {name} must not eat.")


class TextureConflict(DomainError):
    code = "texture_conflict"
    message = N_("{dish} ({texture}) is too firm for {name}, who needs {needed} food.")


class DietConflict(DomainError):
    code = "diet_conflict"
    message = N_("{dish} is not {need}, which {name} needs.")


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    message = N_("Please choose between {low} and {high} portions.")
    status = 422


class DuplicateRequest(Conflict):
    code = "duplicate_request"
    message = N_("This order was already received.")


class AlreadyOrdered(Conflict):
    code = "already_ordered"
    message = N_("{name} already has {slot} ordered for {date}. You can change that order.")


class OrderNotFound(NotFound):
    code = "order_not_found"
    message = N_("We could not find this order.")


class OrderNotChangeable(Conflict):
    code = "order_not_changeable"
    message = N_("This order is {status} and can no longer be changed.")


class NothingToRepeat(NotFound):
    code = "nothing_to_repeat"
    message = N_("{name} has no earlier order to repeat.")


class RepeatNotOnMenu(NotFound):
    """Repeating the last meal means its dish, never whatever stands in its place on a menu."""

    code = "repeat_not_on_menu"
    message = N_("{dish} is not on the menu for {slot} on {date}.")


class AllMealsOrdered(Conflict):
    code = "all_meals_ordered"
    message = N_(
        "{name} already has every meal ordered that is open for ordering. "
        "See “My orders” to change one."
    )


class StandingOrderNotFound(NotFound):
    code = "standing_order_not_found"
    message = N_("We could not find this standing order.")


class InvalidPeriod(DomainError):
    code = "invalid_period"
    message = N_("The end date must not be before the start date.")
    status = 422


class CutoffNotYet(Conflict):
    code = "cutoff_not_yet"
    message = N_("Orders for {slot} on {date} stay open until {cutoff}.")


class StandingOrderOverlap(DomainError):
    code = "standing_order_overlap"
    message = N_(
        "{name} already has a standing order for {slot} on some of these days. Pause or stop "
        "it first."
    )
    status = 409


class InvalidWeekdays(DomainError):
    code = "invalid_weekdays"
    message = N_("Please choose at least one weekday.")
    status = 422


class CommunityNotFound(NotFound):
    code = "community_not_found"
    message = N_("We could not find this community.")


class DishNotFound(NotFound):
    code = "dish_not_found"
    message = N_("We could not find this dish.")


class ChatUserNotFound(NotFound):
    code = "chat_user_not_found"
    message = N_("We could not find this chat user.")


class AlreadyExists(Conflict):
    code = "already_exists"
    message = N_("“{value}” is already registered.")


class OutcomeNotAllowed(Conflict):
    code = "outcome_not_allowed"
    message = N_("An order that is {status} cannot be marked {outcome}.")


class NothingToUndo(Conflict):
    code = "nothing_to_undo"
    message = N_("This meal has no mark to undo: it is {status}.")


class UndoTooLate(Conflict):
    code = "undo_too_late"
    message = N_(
        "This mark was made at {at} and can be undone only within {minutes} minutes. "
        "Please ask the programme's office to correct it."
    )


class MarkNotYours(DomainError):
    code = "mark_not_yours"
    status = 403
    message = N_("Only the person who made this mark, or the admin, can undo it.")


class LinkCodeInvalid(DomainError):
    # The same answer for a wrong, used or expired code: it must not tell whether an elder exists.
    code = "link_code_invalid"
    message = N_(
        "This code does not work. Please check it, or ask your community worker for a new one."
    )


class TooManyCodeAttempts(DomainError):
    code = "too_many_code_attempts"
    status = 429
    message = N_("Too many wrong codes. Please try again in an hour, or call {phone}.")


class MenuItemNotFound(NotFound):
    code = "menu_item_not_found"
    message = N_("This meal is no longer on the menu. Please choose again.")


class VariantNotOfDish(DomainError):
    code = "variant_not_of_dish"
    message = N_("{dish} is not cooked as “{variant}”. Its variants: {variants}.")
    status = 422


class MenuItemHasOrders(Conflict):
    code = "menu_item_has_orders"
    message = N_("{dish} ({variant}) has been ordered already and cannot be taken off the menu.")


class LinkNotFound(NotFound):
    code = "link_not_found"
    message = N_("We could not find this family link.")


class PauseNotFound(NotFound):
    code = "pause_not_found"
    message = N_("We could not find this pause.")


class PauseOver(Conflict):
    code = "pause_over"
    message = N_("This pause ended on {date}; there is nothing left to end.")


class PausesOverlap(Conflict):
    code = "pauses_overlap"
    message = N_(
        "Meals are already paused from {start} to {end}. Please change that pause instead."
    )


class PeriodReversed(Conflict):
    # A Conflict, like every refusal by a rule of input the schema itself allows.
    code = "period_reversed"
    message = N_("The end date must not be before the start date.")


class PauseInPast(Conflict):
    code = "date_in_past"
    message = N_("{date} has already passed.")


class SlotStillOpen(Conflict):
    code = "slot_still_open"
    message = N_(
        "Orders for {slot} on {date} are still open at {sites} until {cutoff}: routes are "
        "planned once the meal has closed."
    )


class SiteCodeUnknown(NotFound):
    code = "site_code_unknown"
    message = N_("There is no site with the code “{code}”. Known codes: {known}.")


class NotAKitchen(DomainError):
    code = "not_a_kitchen"
    message = N_("{site} is not a central kitchen: only kitchens plan delivery routes.")
