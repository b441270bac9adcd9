"""Importing a district's elder list (usecases.elder_import): dates and words as staff write
them, Chinese and English headers, CSV (with Excel's byte-order mark, or GB18030) and XLSX;
every problem by row and column, translated, with nothing written; the clean rows alone when
asked; the same file again updates and never duplicates."""

from datetime import date

import pytest
import sqlalchemy as sa

from core.id_numbers import id_number_hash
from core.models import Elder, ElderCategory, EmergencyContact
from core.types import Category
from tests.conftest import row_counts
from tests.elder_files import HEADERS_EN, HEADERS_ZH, csv_file, elder_row, id_number, xlsx_file
from usecases.elder_import import check_elder_file, import_elders


def run(session, clock, content, *, only_clean=False, dry_run=False):
    if dry_run:
        return check_elder_file(session=session, clock=clock, content=content)
    return import_elders(
        session=session, clock=clock, actor="admin", content=content, only_clean=only_clean
    )


def elders(session) -> list[Elder]:
    return list(session.exec(sa.select(Elder).order_by(Elder.id)).scalars())


def refused_whole(session, clock, content, *, only_clean=False):
    """The file is refused: problems, each translated, and nothing written."""
    before = row_counts(session)
    result = run(session, clock, content, only_clean=only_clean)
    assert not result.written and result.problems
    for problem in result.problems:
        assert problem.render("zh_CN") != problem.render("en"), problem
    assert row_counts(session) == before
    return result


def test_a_csv_with_excels_byte_order_mark_and_chinese_headers_registers_its_elders(
    session, clock, make
):
    community = make.community(name="六榕社区")
    rows = [
        elder_row(1, "六榕社区", 出生日期="1941/7/25"),
        elder_row(2, "六榕社区", born=date(1941, 7, 25), 出生日期="1941-07-25"),
        elder_row(3, "六榕", born=date(1935, 12, 1), 出生日期="1935年12月1日"),
        elder_row(4, community.code, born=date(1941, 7, 25), 出生日期="19410725"),
    ]
    result = run(session, clock, csv_file(HEADERS_ZH, rows))
    assert (result.written, result.created, result.problems) == (True, 4, [])
    registered = elders(session)
    assert [e.birth_date for e in registered] == [
        date(1941, 7, 25),
        date(1941, 7, 25),
        date(1935, 12, 1),
        date(1941, 7, 25),
    ]
    first = registered[0]
    assert (first.texture, first.diet_needs, first.allergies) == ("soft", ["low_salt"], [])
    assert {c.category for c in session.exec(sa.select(ElderCategory)).scalars()} == {
        Category.minimum_living.value,
        Category.advanced_age.value,
    }
    contact = session.exec(sa.select(EmergencyContact).limit(1)).scalars().one()
    assert (contact.name, contact.phone) == ("家属1", "13800000001")
    # No geocoder here: placed at the community's centre and said to be approximate.
    assert (first.lat, first.lon, first.location_approximate) == (
        community.lat,
        community.lon,
        True,
    )


def test_the_id_number_is_kept_only_as_a_keyed_hash_and_its_last_four(session, clock, make):
    make.community(name="六榕社区")
    row = elder_row(1, "六榕社区")
    run(session, clock, csv_file(HEADERS_ZH, [row]))
    elder = elders(session)[0]
    assert elder.id_number_hash == id_number_hash(row[1])
    assert elder.id_number_tail == row[1][-4:]
    stored = session.connection().execute(sa.text("SELECT * FROM elder")).one()
    assert not any(row[1] in str(value) for value in stored)


def test_an_xlsx_with_english_headers_date_cells_and_english_words_is_read(session, clock, make):
    make.community(name="Liurong")
    born = date(1938, 3, 9)
    row = elder_row(
        7,
        "Liurong",
        born=born,
        出生日期=born,
        类别="dibao, Living alone",
        饮食="low salt",
        质地="minced",
        过敏="egg; peanut",
    )
    result = run(session, clock, xlsx_file(HEADERS_EN, [row]))
    assert (result.written, result.created, result.problems) == (True, 1, [])
    elder = elders(session)[0]
    assert elder.birth_date == born
    assert (elder.texture, elder.allergies) == ("minced", ["egg", "peanut"])


def test_a_csv_saved_by_a_chinese_excel_in_gb18030_is_read(session, clock, make):
    make.community(name="六榕社区")
    content = csv_file(HEADERS_ZH, [elder_row(1, "六榕社区")], encoding="gb18030")
    assert run(session, clock, content).created == 1


def test_the_dry_run_lists_every_problem_by_row_and_column_and_writes_nothing(session, clock, make):
    make.community(name="六榕社区")
    good = elder_row(1, "六榕社区")
    bad_digit = elder_row(2, "六榕社区")
    bad_digit[1] = bad_digit[1][:-1] + ("1" if bad_digit[1][-1] != "1" else "2")
    rows = [
        good,
        bad_digit,
        elder_row(3, "无此社区", 类别="低保、贵宾", 出生日期="去年"),
        elder_row(4, "六榕社区", 质地="软食、碎食", 过敏="榴莲"),
    ]
    before = row_counts(session)
    result = run(session, clock, csv_file(HEADERS_ZH, rows), dry_run=True)
    assert row_counts(session) == before
    assert (result.rows, result.clean_rows, result.written) == (4, 1, False)
    where = [(p.row, p.column) for p in result.problems]
    assert where == [
        (3, "身份证号"),
        (4, "出生日期"),
        (4, "社区"),
        (4, "类别"),
        (5, "质地"),
        (5, "过敏"),
    ]
    assert "贵宾" in result.problems[3].render("zh_CN")
    for problem in result.problems:
        assert problem.render("zh_CN") != problem.render("en")


def test_a_file_with_a_bad_check_digit_writes_nothing_unless_only_the_clean_rows_are_chosen(
    session, clock, make
):
    make.community(name="六榕社区")
    bad = elder_row(2, "六榕社区")
    bad[1] = bad[1][:-1] + ("1" if bad[1][-1] != "1" else "2")
    content = csv_file(HEADERS_ZH, [elder_row(1, "六榕社区"), bad, elder_row(3, "六榕社区")])
    refused = refused_whole(session, clock, content)
    assert [(p.row, p.column) for p in refused.problems] == [(3, "身份证号")]
    result = run(session, clock, content, only_clean=True)
    assert (result.written, result.created, result.skipped) == (True, 2, 1)
    assert [e.name for e in elders(session)] == ["长者1", "长者3"]


def test_two_rows_of_one_person_or_one_phone_are_refused_naming_the_first(session, clock, make):
    make.community(name="六榕社区")
    first = elder_row(1, "六榕社区")
    again = elder_row(2, "六榕社区", 身份证号=first[1])
    shares_phone = elder_row(3, "六榕社区", 手机=first[2])
    result = refused_whole(session, clock, csv_file(HEADERS_ZH, [first, again, shares_phone]))
    assert [(p.row, p.column, dict(p.params)) for p in result.problems] == [
        (3, "身份证号", {"row": 2}),
        (4, "手机", {"row": 2}),
    ]


def test_importing_the_same_file_again_updates_and_never_duplicates(session, clock, make):
    make.community(name="六榕社区")
    rows = [elder_row(n, "六榕社区") for n in range(1, 4)]
    first = run(session, clock, csv_file(HEADERS_ZH, rows))
    assert first.created == 3
    again = run(session, clock, csv_file(HEADERS_ZH, rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    # Written another way (the old 15-digit number, the date as Excel's CSV has it), and
    # with a new phone number and a category more: the same elder, changed.
    changed = list(rows)
    old_form = rows[1][1][:6] + rows[1][1][8:17]
    changed[1] = elder_row(
        2, "六榕社区", 身份证号=old_form, 手机="13700000002", 类别="低保、高龄、独居"
    )
    third = run(session, clock, csv_file(HEADERS_ZH, changed))
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)
    registered = elders(session)
    assert len(registered) == 3
    assert registered[1].phone == "13700000002"
    held = session.exec(
        sa.select(ElderCategory.category).where(ElderCategory.elder_id == registered[1].id)
    ).all()
    assert sorted(c for (c,) in held) == ["advanced_age", "dibao", "living_alone"]
    # Audit entries join the chain at the commit; until then they wait in the session.
    pending = [entry.action for _t, entry in session.info.get("audit_pending", [])]
    assert pending.count("import_elders") == 3
    assert pending.count("create_elder") == 3
    assert pending.count("update_elder") == 1


def test_an_id_number_excel_turned_into_a_number_is_refused_saying_why(session, clock, make):
    make.community(name="六榕社区")
    row = elder_row(1, "六榕社区")
    row[1] = int(row[1][:15] + "000") if row[1][-1] != "X" else 440104194107250000
    result = refused_whole(session, clock, xlsx_file(HEADERS_ZH, [row]))
    assert result.problems[0].column == "身份证号"
    assert "文本" in result.problems[0].render("zh_CN")


def test_a_birth_date_that_disagrees_with_the_id_number_is_refused(session, clock, make):
    make.community(name="六榕社区")
    row = elder_row(1, "六榕社区", 出生日期="1941/7/26")
    result = refused_whole(session, clock, csv_file(HEADERS_ZH, [row]))
    assert [(p.row, p.column) for p in result.problems] == [(2, "身份证号")]


def test_a_birth_date_may_be_left_to_the_id_number(session, clock, make):
    make.community(name="六榕社区")
    row = elder_row(1, "六榕社区", born=date(1936, 2, 29), 出生日期="")
    assert run(session, clock, csv_file(HEADERS_ZH, [row])).created == 1
    assert elders(session)[0].birth_date == date(1936, 2, 29)


@pytest.mark.parametrize(
    ("headers", "problem_columns"),
    [
        (["姓名", "身份证", "手机号", "住址", "社区", "备注"], ["备注"]),
        (["姓名", "手机", "地址", "社区"], ["身份证号"]),
        (["姓名", "身份证号", "姓名", "地址", "社区"], ["姓名"]),
    ],
)
def test_bad_headers_refuse_the_whole_file_even_for_the_clean_rows(
    session, clock, make, headers, problem_columns
):
    make.community(name="六榕社区")
    row = [id_number(date(1941, 7, 25), 1) if "身份" in h else "六榕社区" for h in headers]
    result = refused_whole(session, clock, csv_file(headers, [row]), only_clean=True)
    assert [(p.row, p.column) for p in result.problems] == [(1, c) for c in problem_columns]
    assert result.clean_rows == 0


@pytest.mark.parametrize(
    "content",
    [b"", b"\xd0\xcf\x11\xe0old excel", b"PK\x03\x04not a zip", "姓名\n".encode()],
)
def test_a_file_that_is_not_an_elder_list_is_refused_as_a_whole(session, clock, content):
    result = refused_whole(session, clock, content)
    assert result.problems[0].row == 0


def test_a_damaged_workbook_is_refused_as_a_file_we_cannot_read(session, clock, make):
    import io
    import zipfile

    make.community(name="六榕社区")
    whole = xlsx_file(HEADERS_ZH, [elder_row(1, "六榕社区")])
    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(whole)) as source, zipfile.ZipFile(damaged, "w") as copy:
        for item in source.infolist():
            body = source.read(item.filename)
            copy.writestr(item, body[: len(body) // 2] if "sheet1" in item.filename else body)
    result = refused_whole(session, clock, damaged.getvalue())
    assert (result.problems[0].row, result.rows) == (0, 0)


def test_the_same_list_imported_twice_at_once_registers_each_elder_once(empty_database):
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime
    from threading import Barrier

    from core.clock import FixedClock
    from core.geocoding import Locator
    from tests.conftest import SHANGHAI
    from tests.factories import Factory

    clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI))
    with empty_database.transaction() as session:
        Factory(session, clock).community(name="六榕社区")
    content = csv_file(HEADERS_ZH, [elder_row(n, "六榕社区") for n in range(1, 31)])
    barrier = Barrier(2)

    def attempt(_):
        barrier.wait()
        with empty_database.transaction() as session:
            result = import_elders(
                session=session,
                clock=clock,
                actor="admin",
                content=content,
                locator=Locator(None),
            )
        return result.created, result.unchanged

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(attempt, range(2)))
    assert outcomes == [(0, 30), (30, 0)]
    with empty_database.reading() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Elder)).scalar_one() == 30
