"""`mealaid elders import FILE [--dry-run] [--only-clean]`, run as its own process: the dry run
lists the problems by row and column and writes nothing; a file with problems is refused as a
whole (exit 1) unless only the clean rows are asked for; the same file again changes nothing."""

import os
import subprocess
from datetime import datetime

from sqlmodel import func, select

from core.audit import AuditEntry
from core.clock import FixedClock
from core.db import Database
from core.models import Elder
from tests.conftest import SHANGHAI
from tests.elder_files import HEADERS_ZH, csv_file, elder_row
from tests.factories import Factory
from tests.mealaid.processes import MEALAID
from tests.mealaid.test_demo import database_url  # noqa: F401  (the fixture)


def mealaid(*args: str, lang: str = "en") -> subprocess.CompletedProcess:
    return subprocess.run(
        [MEALAID, "elders", "import", *args, "--lang", lang],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200"},
    )


def elders_and_entries(database: Database) -> tuple[int, list[str]]:
    with database.reading() as session:
        count = session.exec(select(func.count()).select_from(Elder)).one()
        actions = list(session.exec(select(AuditEntry.action)))
    return count, actions


def test_the_command_checks_refuses_imports_clean_rows_and_updates_on_a_second_run(
    database_url,  # noqa: F811
    tmp_path,
):
    database = Database.from_url(database_url)
    with database.transaction() as session:
        Factory(session, FixedClock(datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI))).community(
            name="六榕社区"
        )
    bad = elder_row(2, "六榕社区")
    bad[1] = bad[1][:-1] + ("1" if bad[1][-1] != "1" else "2")
    rows = [elder_row(1, "六榕社区"), bad, elder_row(3, "六榕社区", 类别="低保、贵宾")]
    path = tmp_path / "名单.csv"
    path.write_bytes(csv_file(HEADERS_ZH, rows))

    checked = mealaid(str(path), "--dry-run")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "Traceback" not in checked.stdout + checked.stderr
    assert "Checked 3 rows: 1 clean, 2 with problems. Nothing was written." in checked.stdout
    assert "身份证号" in checked.stdout and "a digit is mistyped" in checked.stdout
    assert "贵宾" in checked.stdout
    in_chinese = mealaid(str(path), "--dry-run", lang="zh_CN")
    assert "校验位不符" in in_chinese.stdout
    assert elders_and_entries(database) == (0, [])

    refused = mealaid(str(path))
    assert refused.returncode == 1 and "Nothing was imported" in refused.stdout
    assert elders_and_entries(database) == (0, [])

    clean = mealaid(str(path), "--only-clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "New elders: 1," in clean.stdout and "rows with problems left out: 2" in clean.stdout
    count, actions = elders_and_entries(database)
    assert (count, sorted(actions)) == (1, ["create_elder", "import_elders"])

    path.write_bytes(csv_file(HEADERS_ZH, [elder_row(1, "六榕社区")]))
    again = mealaid(str(path))
    assert again.returncode == 0 and "New elders: 0, updated: 0, unchanged: 1" in again.stdout
    assert elders_and_entries(database)[0] == 1

    missing = mealaid(str(tmp_path / "none.xlsx"))
    assert missing.returncode == 2 and "There is no file at" in missing.stdout
    database.dispose()
