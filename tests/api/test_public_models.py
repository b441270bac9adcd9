"""The JSON API's models of core's records give out only fields someone chose to give out.

An API model that mirrors a core record is built from it with `Model(**vars(record))`, and
pydantic drops what the model does not name: a field added to the record (an elder's phone
number, say) reaches no API answer by itself. This test makes the choice explicit both ways:
every field of the record is either in the API model or withheld here with its reason, so a new
field fails the test until someone decides (docs/architecture.md, "API models")."""

import dataclasses

import pytest
from pydantic import BaseModel

from api import dashboard, elders, orders, overview, settlement, welfare
from billing.dashboard import AlertLine, Count
from billing.settlement import Line
from core.elders import ElderRow, LinkRow
from core.orders import BoardOrder, SlotTally
from core.welfare import AlertCall, AlertStepView, AlertView

# (API model, the core record it is built from, record fields withheld: name -> why)
MIRRORS: list[tuple[type[BaseModel], type, dict[str, str]]] = [
    (elders.ElderRowPublic, ElderRow, {}),
    (elders.LinkPublic, LinkRow, {}),
    (welfare.AlertPublic, AlertView, {}),
    (welfare.AlertStepPublic, AlertStepView, {}),
    (welfare.AlertCallPublic, AlertCall, {}),
    (dashboard.AlertPublic, AlertLine, {}),
    (dashboard.CountPublic, Count, {}),
    (overview.SlotTallyPublic, SlotTally, {}),
    (settlement.StatementLinePublic, Line, {}),
    (
        orders.BoardOrderPublic,
        BoardOrder,
        {"community_id": "used to scope the board to a community worker's communities"},
    ),
]


@pytest.mark.parametrize(
    ("public", "record", "withheld"),
    MIRRORS,
    ids=[f"{public.__module__}.{public.__name__}" for public, _, _ in MIRRORS],
)
def test_an_api_model_gives_out_each_field_of_its_record_or_withholds_it_on_purpose(
    public: type[BaseModel], record: type, withheld: dict[str, str]
) -> None:
    fields = {f.name for f in dataclasses.fields(record)}
    assert set(withheld) <= fields, "withheld names a field the record does not have"
    undecided = fields - set(withheld) - set(public.model_fields)
    assert not undecided, (
        f"{record.__name__} has fields {sorted(undecided)} that {public.__name__} neither "
        "gives out nor withholds: add each to the API model, or to `withheld` with its reason"
    )
    given_out = set(public.model_fields) & set(withheld)
    assert not given_out, f"{sorted(given_out)} are withheld yet in {public.__name__}"
    invented = set(public.model_fields) - fields
    assert not invented, f"{public.__name__} names {sorted(invented)}, not in {record.__name__}"


def test_pydantic_drops_a_field_the_api_model_does_not_name() -> None:
    """What the rule above rests on: building a model from a record with more fields gives out
    only the model's own fields, and none of the API models lets extra fields through."""

    class Row(BaseModel):
        id: int
        name: str

    record = dataclasses.make_dataclass("Record", [("id", int), ("name", str), ("phone", str)])
    built = Row(**vars(record(1, "王秀英", "13800000000")))
    assert "13800000000" not in built.model_dump_json()
    for public, _, _ in MIRRORS:
        assert public.model_config.get("extra", "ignore") == "ignore", public.__name__
