"""Every `mealaid` command and web process sets Python's cycle collector as mealaid.collector
says, once it has imported what it runs."""

import gc
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from mealaid import collector
from mealaid.cli import app


@pytest.fixture
def pythons_own_collector() -> Iterator[None]:
    """The collector as Python starts it, then as this test process had it."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_a_command_collects_young_objects_less_often_and_leaves_its_imports_alone(
    pythons_own_collector, tmp_path, monkeypatch
):
    monkeypatch.setenv("MEALAID_DATABASE_URL", f"sqlite:///{tmp_path}/mealaid.db")
    get_settings.cache_clear()
    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert gc.get_threshold() == collector.THRESHOLDS == (10_000, 50, 100)
    assert gc.get_freeze_count() > frozen
    get_settings.cache_clear()
