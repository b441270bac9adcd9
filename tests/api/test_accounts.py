"""Staff accounts as services: Argon2id hashes, each role's one link, password checks with a
limit on failures, sessions that end, and password changes."""

from datetime import timedelta

import pytest
from argon2 import PasswordHasher, profiles
from sqlmodel import select

import core.accounts as accounts
from api.accounts.errors import (
    LinkMissing,
    LinkNotForRole,
    LoginRefused,
    RiderNotFound,
    TooManyAttempts,
    UsernameTaken,
    WrongPassword,
)
from api.accounts.models import LoginFailure, StaffAccountCreate, StaffCommunity
from api.accounts.service import (
    account_for_session,
    authenticate,
    change_password,
    create_account,
    end_session,
    find_session,
    start_session,
    touch_session,
)
from core.errors import InvalidInput
from tests.conftest import row_counts
from tests.factories import PASSWORD, make_staff

IP = "192.0.2.10"


def test_an_account_keeps_only_an_argon2id_hash_of_its_password(make, session):
    account = make_staff(make, "admin", password="Sh0rt but long enough")
    assert account.password_hash.startswith("$argon2id$")
    assert "Sh0rt" not in account.password_hash
    assert account.created_at == make.clock.now()


def test_the_real_hasher_uses_argon2id_with_the_rfc_9106_low_memory_parameters(monkeypatch):
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher())
    hashed = accounts.HASHER.hash("a password of sorts")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_user_names_are_unique_regardless_of_case(make, session):
    first = make_staff(make, "admin")
    before = row_counts(session)
    with pytest.raises(UsernameTaken):
        create_account(
            session=session,
            clock=make.clock,
            account_in=StaffAccountCreate(
                username=first.username.upper(), password=PASSWORD, role="admin"
            ),
        )
    assert row_counts(session) == before


@pytest.mark.parametrize(
    ("role", "links", "refusal"),
    [
        ("rider", {}, LinkMissing),
        ("funder_auditor", {}, LinkMissing),
        ("kitchen", {}, LinkMissing),
        ("community_worker", {}, LinkMissing),
        ("admin", {"rider_id": 1}, LinkNotForRole),
        ("rider", {"rider_id": 99999}, RiderNotFound),
    ],
)
def test_each_role_needs_its_own_link_and_no_other(make, session, role, links, refusal):
    before = row_counts(session)
    with pytest.raises(refusal) as raised:
        create_account(
            session=session,
            clock=make.clock,
            account_in=StaffAccountCreate(
                username="someone", password=PASSWORD, role=role, **links
            ),
        )
    assert raised.value.render("en")  # a readable message, not a bare code
    assert row_counts(session) == before


def test_a_community_worker_is_linked_to_their_communities(make, session):
    first, second = make.community(), make.community()
    worker = make_staff(make, "community_worker", community_ids=[first.id, second.id])
    linked = session.exec(
        select(StaffCommunity.community_id).where(StaffCommunity.account_id == worker.id)
    ).all()
    assert sorted(linked) == sorted([first.id, second.id])


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("ab", PASSWORD, "username"),
        ("no spaces", PASSWORD, "username"),
        ("fine", "short", "password"),
    ],
)
def test_bad_user_names_and_short_passwords_are_refused_with_the_field(
    make, session, username, password, field
):
    before = row_counts(session)
    with pytest.raises(InvalidInput) as raised:
        create_account(
            session=session,
            clock=make.clock,
            account_in={"username": username, "password": password, "role": "admin"},
        )
    assert raised.value.params["field_code"] == field
    assert row_counts(session) == before


def test_the_right_password_lets_in_and_a_wrong_one_is_counted(make, session):
    account = make_staff(make, "admin")
    clock = make.clock
    assert (
        authenticate(
            session=session,
            clock=clock,
            username=account.username.upper(),
            password=PASSWORD,
            ip=IP,
        ).id
        == account.id
    )
    with pytest.raises(LoginRefused):
        authenticate(
            session=session, clock=clock, username=account.username, password="nope", ip=IP
        )
    assert len(session.exec(select(LoginFailure)).all()) == 1


class CountingHasher(PasswordHasher):
    """A real (cheap) hasher that counts how often a password is checked."""

    def __init__(self) -> None:
        cheap = profiles.CHEAPEST
        super().__init__(
            time_cost=cheap.time_cost,
            memory_cost=cheap.memory_cost,
            parallelism=cheap.parallelism,
            hash_len=cheap.hash_len,
            salt_len=cheap.salt_len,
        )
        self.checked = 0

    def verify(self, hash, password):
        self.checked += 1
        return super().verify(hash, password)


def test_an_unknown_user_name_costs_a_password_check_like_a_wrong_password(
    make, session, monkeypatch
):
    hasher = CountingHasher()
    monkeypatch.setattr(accounts, "HASHER", hasher)
    with pytest.raises(LoginRefused) as unknown:
        authenticate(session=session, clock=make.clock, username="nobody", password="x", ip=IP)
    assert hasher.checked == 1
    account = make_staff(make, "admin")
    with pytest.raises(LoginRefused) as wrong:
        authenticate(
            session=session, clock=make.clock, username=account.username, password="x", ip=IP
        )
    assert hasher.checked == 2
    assert unknown.value.render("en") == wrong.value.render("en")


def test_an_inactive_account_cannot_log_in(make, session):
    account = make_staff(make, "admin")
    account.active = False
    session.add(account)
    with pytest.raises(LoginRefused):
        authenticate(
            session=session, clock=make.clock, username=account.username, password=PASSWORD, ip=IP
        )


def test_five_failures_lock_that_user_name_from_that_address_for_fifteen_minutes(make, session):
    account = make_staff(make, "admin")
    clock = make.clock
    for _ in range(5):
        with pytest.raises(LoginRefused):
            authenticate(
                session=session, clock=clock, username=account.username, password="guess", ip=IP
            )
    with pytest.raises(TooManyAttempts) as locked:
        authenticate(
            session=session, clock=clock, username=account.username, password=PASSWORD, ip=IP
        )
    assert locked.value.render("en") == (
        "Too many wrong passwords. Please wait 15 minutes and try again."
    )
    assert "15" in locked.value.render("zh_CN")
    # The same person from another address is not locked out by someone else's guesses.
    assert authenticate(
        session=session,
        clock=clock,
        username=account.username,
        password=PASSWORD,
        ip="198.51.100.7",
    )
    clock.advance(timedelta(minutes=15, seconds=1))
    assert authenticate(
        session=session, clock=clock, username=account.username, password=PASSWORD, ip=IP
    )
    # A success clears the count for that user name and address.
    assert session.exec(select(LoginFailure).where(LoginFailure.ip == IP)).all() == []


def test_a_session_lasts_twelve_hours_and_ends_at_logout(make, session):
    account = make_staff(make, "admin")
    token = start_session(session=session, clock=make.clock, account=account)
    assert account_for_session(session=session, clock=make.clock, token=token).id == account.id
    assert account_for_session(session=session, clock=make.clock, token=token + "x") is None
    for _ in range(24):  # in use every half hour: 11 h 59 min in all, then the 12 hours end it
        make.clock.advance(timedelta(minutes=29, seconds=57.5))
        assert account_for_session(session=session, clock=make.clock, token=token) is not None
        touch_session(session=session, clock=make.clock, token=token)
    make.clock.advance(timedelta(minutes=1))
    assert account_for_session(session=session, clock=make.clock, token=token) is None
    second = start_session(session=session, clock=make.clock, account=account)
    end_session(session=session, token=second)
    assert account_for_session(session=session, clock=make.clock, token=second) is None


def test_a_session_unused_for_thirty_minutes_ends_and_says_so(make, session):
    account = make_staff(make, "admin")
    token = start_session(session=session, clock=make.clock, account=account)
    make.clock.advance(timedelta(minutes=30))
    assert find_session(session=session, clock=make.clock, token=token).account is not None
    make.clock.advance(timedelta(seconds=1))
    found = find_session(session=session, clock=make.clock, token=token)
    assert (found.account, found.idle) == (None, True)
    assert find_session(session=session, clock=make.clock, token="other").idle is False


def test_a_deactivated_account_loses_its_sessions_at_once(make, session):
    account = make_staff(make, "admin")
    token = start_session(session=session, clock=make.clock, account=account)
    account.active = False
    session.add(account)
    session.flush()
    assert account_for_session(session=session, clock=make.clock, token=token) is None


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(make, session):
    account = make_staff(make, "admin")
    clock = make.clock
    here = start_session(session=session, clock=clock, account=account)
    elsewhere = start_session(session=session, clock=clock, account=account)
    before = row_counts(session)
    with pytest.raises(WrongPassword):
        change_password(
            session=session,
            clock=clock,
            account_id=account.id,
            current_password="not it",
            new_password="a brand new password",
        )
    with pytest.raises(InvalidInput) as short:
        change_password(
            session=session,
            clock=clock,
            account_id=account.id,
            current_password=PASSWORD,
            new_password="short",
        )
    assert short.value.params["field_code"] == "new_password"
    # Nothing changed but the wrong current password, counted like a wrong login.
    assert row_counts(session) == {**before, "login_failure": before["login_failure"] + 1}
    change_password(
        session=session,
        clock=clock,
        account_id=account.id,
        current_password=PASSWORD,
        new_password="a brand new password",
        keep_token=here,
    )
    assert account_for_session(session=session, clock=clock, token=here) is not None
    assert account_for_session(session=session, clock=clock, token=elsewhere) is None
    with pytest.raises(LoginRefused):
        authenticate(
            session=session, clock=clock, username=account.username, password=PASSWORD, ip=IP
        )
    assert authenticate(
        session=session,
        clock=clock,
        username=account.username,
        password="a brand new password",
        ip=IP,
    )
