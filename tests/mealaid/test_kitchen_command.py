"""`mealaid kitchen` as a cook runs it (a real process, both databases): the production list
printed, and with --out the kitchen's files written."""

from datetime import time

import pypdf
import pytest

from tests.mealaid.test_commands import kitchen_with_standing_order, mealaid, now_in_shanghai
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)


def test_the_kitchen_command_prints_the_list_and_writes_the_files(
    database_url,  # noqa: F811
    tmp_path,
):
    now = now_in_shanghai()
    if now.time() > time(23, 50):
        pytest.skip("the test's meal closes at 23:59 today")
    kitchen_with_standing_order(database_url, now, cutoff=time(23, 59))
    day = now.date().isoformat()
    printed = mealaid(
        "kitchen", "--date", day, "--lang", "zh_CN", "--out", str(tmp_path), check_code=0
    )
    # Before the cutoff: the standing order is forecast, and the list says it is not final.
    assert "午餐" in printed.stdout and "非最终" in printed.stdout
    [production] = tmp_path.glob(f"production-{day}-lunch-k*.pdf")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(production).pages)
    assert "按菜品和做法合计" in text and "按去向" in text
