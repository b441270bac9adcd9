"""Who is asking, and the object-level rules: which kitchen, route, funder or elder a member of
staff may see. Pages and the API call these; each rule lives here once."""

from dataclasses import dataclass

from api.accounts.models import Role


@dataclass(frozen=True)
class Staff:
    """The logged-in member of staff for one request."""

    id: int
    username: str
    display_name: str
    role: Role
    rider_id: int | None = None
    funder_id: int | None = None
    kitchen_id: int | None = None
    community_ids: frozenset[int] = frozenset()
    site_ids: frozenset[int] = frozenset()

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"staff:{self.username}"

    @property
    def home(self) -> str:
        """Where this person starts after logging in."""
        if self.role == Role.rider:
            return "/rider"
        if self.role == Role.kitchen:
            return f"/kitchens/{self.kitchen_id}/production"
        if self.role == Role.canteen:
            return "/counter"
        return "/"


def counter_sites(staff: Staff) -> frozenset[int] | None:
    """The sites whose counter this person keeps: None for every site (the admin), canteen
    staff their own, nothing for any other role."""
    if staff.role == Role.admin:
        return None
    if staff.role == Role.canteen:
        return staff.site_ids
    return frozenset()


def may_see_kitchen(staff: Staff, kitchen_id: int) -> bool:
    """Kitchen staff see their own kitchen's lists; the admin sees every kitchen's."""
    if staff.role == Role.admin:
        return True
    return staff.role == Role.kitchen and staff.kitchen_id == kitchen_id


def may_see_route(staff: Staff, route_rider_id: int) -> bool:
    """A rider sees only the routes given to them (their elders' addresses and phones)."""
    if staff.role == Role.admin:
        return True
    return staff.role == Role.rider and staff.rider_id == route_rider_id


def may_see_funder(staff: Staff, funder_id: int) -> bool:
    """A funder auditor sees only its own funder's statements."""
    if staff.role == Role.admin:
        return True
    return staff.role == Role.funder_auditor and staff.funder_id == funder_id


def may_see_elder(staff: Staff, elder_community_id: int) -> bool:
    """A community worker sees only the elders of the communities they look after."""
    if staff.role == Role.admin:
        return True
    return staff.role == Role.community_worker and elder_community_id in staff.community_ids


def elder_scope(staff: Staff) -> frozenset[int] | None:
    """The communities whose elders this person may see: None for every community (the
    admin), a community worker's own, nothing for any other role."""
    if staff.role == Role.admin:
        return None
    if staff.role == Role.community_worker:
        return staff.community_ids
    return frozenset()
