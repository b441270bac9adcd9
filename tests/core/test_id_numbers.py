"""ID card numbers (GB 11643): read as typed and as spreadsheets hold them, checked, and kept
only as a keyed hash and the last four characters."""

from datetime import date

import pytest

from core.id_numbers import IdNumberProblem, check_character, id_number_hash, read_id_number


def test_a_good_number_is_read_with_its_birth_date_and_tail():
    number = read_id_number("11010519491231002X")
    assert number.birth_date == date(1949, 12, 31)
    assert number.tail == "002X"


def test_a_number_is_read_as_typed_on_a_chinese_keyboard():
    assert read_id_number("１１０１０５ 1949 1231 002x").value == "11010519491231002X"


def test_an_old_fifteen_digit_number_is_the_same_number_as_its_eighteen_character_form():
    assert read_id_number("110105491231002").value == "11010519491231002X"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("110105194912310021", "id_number_check_digit"),
        ("11010519491231002", "id_number_form"),
        ("1101051949123100XX", "id_number_form"),
        ("zhang", "id_number_form"),
        ("4.40104E+17", "id_number_digits_lost"),
        (440104194107250000, "id_number_digits_lost"),
    ],
)
def test_numbers_that_are_not_id_numbers_are_refused_saying_why(typed, problem):
    with pytest.raises(IdNumberProblem) as refused:
        read_id_number(typed)
    assert refused.value.code == problem


def test_a_number_whose_birth_date_does_not_exist_is_refused():
    first17 = "11010519490231002"  # 31 February
    with pytest.raises(IdNumberProblem) as refused:
        read_id_number(first17 + check_character(first17))
    assert refused.value.code == "id_number_birth_date"


def test_the_stored_form_is_keyed_and_gives_the_number_away_to_nobody_without_the_key():
    import hashlib

    number = "11010519491231002X"
    stored = id_number_hash(number)
    assert len(stored) == 64
    assert number not in stored
    assert stored != hashlib.sha256(number.encode()).hexdigest()
    assert stored == read_id_number(number).keyed_hash()
