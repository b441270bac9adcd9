"""Planned delivery routes as stored: one route per rider, kitchen, day and meal, its stops in
order with ETAs, and the orders the plan could not serve, with the reason."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.types import UTCDateTime


class DeliveryRoute(SQLModel, table=True):
    __tablename__ = "delivery_route"
    __table_args__ = (sa.UniqueConstraint("kitchen_id", "service_date", "slot", "rider_id"),)
    id: int | None = Field(default=None, primary_key=True)
    kitchen_id: int = Field(foreign_key="site.id", index=True)
    service_date: date = Field(index=True)
    slot: str = Field(max_length=16)
    rider_id: int = Field(foreign_key="rider.id", index=True)
    number: int  # route 1, 2, 3 ... of the kitchen's slot, as printed on labels
    departure_at: datetime = Field(sa_type=UTCDateTime)
    return_at: datetime = Field(sa_type=UTCDateTime)
    distance_m: int
    planned_at: datetime = Field(sa_type=UTCDateTime)
    # Raised to revoke every link to the route and its stops (a rider drops out, a sheet is lost).
    link_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class RouteStop(SQLModel, table=True):
    __tablename__ = "route_stop"
    __table_args__ = (sa.UniqueConstraint("route_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    route_id: int = Field(foreign_key="delivery_route.id", index=True)
    order_id: int = Field(foreign_key="meal_order.id", unique=True)
    position: int  # 1 = first door
    eta: datetime = Field(sa_type=UTCDateTime)


class UnplannedOrder(SQLModel, table=True):
    __tablename__ = "unplanned_order"
    order_id: int = Field(foreign_key="meal_order.id", primary_key=True)
    reason: str = Field(max_length=16)
    planned_at: datetime = Field(sa_type=UTCDateTime)


class PlannedSlot(SQLModel, table=True):
    """The record that a kitchen's meal has been planned after its cutoff, written in the same
    transaction as its routes: the scheduler plans each kitchen's meal once, however often it
    looks and however many workers look at once."""

    __tablename__ = "planned_slot"
    __table_args__ = (sa.UniqueConstraint("kitchen_id", "service_date", "slot"),)
    id: int | None = Field(default=None, primary_key=True)
    kitchen_id: int = Field(foreign_key="site.id")
    service_date: date = Field(index=True)
    slot: str = Field(max_length=16)
    planned_at: datetime = Field(sa_type=UTCDateTime)
    stops: int = 0
    riders: int = 0
