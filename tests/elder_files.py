"""Elder lists as districts keep them, for the import tests and its benchmark: ID numbers that
pass their check, written to CSV (with or without Excel's byte-order mark, or in GB18030) and
to XLSX (dates as date cells, ID numbers as text)."""

import csv
import io
from datetime import date, datetime

import xlsxwriter

from core.id_numbers import check_character

HEADERS_ZH = [
    "姓名", "身份证号", "手机", "地址", "社区", "类别", "出生日期", "饮食", "质地", "过敏",
    "紧急联系人", "联系人电话",
]  # fmt: skip
HEADERS_EN = [
    "Name", "ID number", "Phone", "Address", "Community", "Categories", "Date of birth",
    "Diet", "Texture", "Allergies", "Emergency contact", "Contact phone",
]  # fmt: skip


def id_number(born: date, serial: int, area: str = "440104") -> str:
    first17 = f"{area}{born:%Y%m%d}{serial % 1000:03d}"
    return first17 + check_character(first17)


def elder_row(n: int, community: str, born: date = date(1941, 7, 25), **cells) -> list:
    """One row in the Chinese column order; `cells` replace columns by their header."""
    values = {
        "姓名": f"长者{n}",
        "身份证号": id_number(born, n % 1000, area=f"44{n // 1000 % 10000:04d}"),
        "手机": f"139{n:08d}",
        "地址": f"越秀区人民路{n}号",
        "社区": community,
        "类别": "低保、高龄",
        "出生日期": f"{born.year}/{born.month}/{born.day}",
        "饮食": "低盐",
        "质地": "软食",
        "过敏": "无",
        "紧急联系人": f"家属{n}",
        "联系人电话": f"138{n:08d}",
    }
    values.update(cells)
    return [values[header] for header in HEADERS_ZH]


def csv_file(headers: list[str], rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_file(headers: list[str], rows: list[list]) -> bytes:
    """An Excel workbook; date and datetime values become date cells, as Excel keeps them."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    day = book.add_format({"num_format": "yyyy/m/d"})
    sheet = book.add_worksheet("老人名单")
    sheet.write_row(0, 0, headers)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, date | datetime):
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))
    book.close()
    return out.getvalue()
