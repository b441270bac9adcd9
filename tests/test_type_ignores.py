"""Types checked: no ignore without a reason on its line (issue 20). A `# type: ignore` names
the error it silences and says why, after it on the same line:
`# type: ignore[call-arg]  # seq and hashes: set at the commit`. Better still, none: type the
code. (Ruff's PGH003 catches an ignore without its code as it is typed; this also wants the
reason.)"""

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "billing", "kitchen", "routing", "usecases", "bot", "api", "mealaid", "bench")
# The codes in brackets, then a comment of its own with something in it.
WITH_REASON = re.compile(r"#\s*type:\s*ignore\[[\w\-, ]+\]\s*#\s*\S")
IGNORE = re.compile(r"type:\s*ignore")


def ignores_without_a_reason(source: str) -> list[int]:
    """The lines of `source` whose type-ignore comment lacks its code or its reason."""
    return [
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
        and IGNORE.search(token.string)
        and not WITH_REASON.search(token.string)
    ]


def python_files() -> list[Path]:
    files = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]
    return sorted([*files, *(ROOT / "tests").rglob("*.py")])


def test_every_type_ignore_names_its_error_and_says_why():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in python_files()
        for line in ignores_without_a_reason(path.read_text(encoding="utf-8"))
    ]
    assert not found, "a type: ignore without its code and a reason after it:\n" + "\n".join(found)


def test_the_check_tells_an_ignore_with_a_reason_from_one_without():
    ignore = "# type: " + "ignore"  # split, so that this file holds no ignore of its own
    source = "\n".join(
        [
            f"a = f()  {ignore}[call-arg]  # seq: set at the commit",
            f"b = f()  {ignore}[call-arg]",
            f"c = f()  {ignore}",
            f"d = f()  {ignore}  # no code",
            f"e = f()  {ignore}[misc]  #",
            f"f = '{ignore}'  # in a string: not a comment",
            f"g = f()  #{ignore[1:]}[arg-type, misc]  # two codes, and why",
        ]
    )
    assert ignores_without_a_reason(source) == [2, 3, 4, 5]
    assert len(python_files()) > 100
