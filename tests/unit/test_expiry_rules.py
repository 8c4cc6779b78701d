"""The rules behind the loyalty jobs, without a database: the FIFO fold of an account's
entries (ledger.lots) and the re-evaluation of a lapsed tier (loyalty/tiers.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from patron.loyalty import ledger, tiers
from patron.loyalty.ledger import Lot
from patron.orgs.config import LoyaltyProgram

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def test_debits_spend_the_soonest_expiring_points_first() -> None:
    held = ledger.lots([(100, day(30)), (50, day(31)), (-120, None)])
    assert held == [Lot(day(31), 30)]
    assert ledger.due(held, day(30)) == 0
    assert ledger.due(held, day(31)) == 30


def test_partly_spent_credit_expires_what_is_left_of_it() -> None:
    held = ledger.lots([(100, day(30)), (50, day(31)), (-30, None)])
    assert held == [Lot(day(30), 70), Lot(day(31), 50)]
    assert ledger.due(held, day(30)) == 70
    assert ledger.due(held, day(31)) == 120


def test_credits_that_never_expire_are_spent_last() -> None:
    held = ledger.lots([(100, None), (50, day(30)), (-60, None)])
    assert held == [Lot(None, 90)]
    assert ledger.due(held, day(10_000)) == 0


def test_a_debit_never_spends_a_credit_written_after_it() -> None:
    # 100 points that never expire are spent; then points that expire arrive: they expire.
    held = ledger.lots([(100, None), (-100, None), (50, day(30))])
    assert held == [Lot(day(30), 50)]
    assert ledger.due(held, day(30)) == 50
    # The sums alone would have let the earlier debit spend them, and nothing would expire.
    assert ledger.expirable(150, 50, 50) == 0


def test_an_expiry_entry_takes_the_due_points_and_a_second_fold_finds_nothing_due() -> None:
    entries: list[tuple[int, datetime | None]] = [(100, day(30)), (50, day(60)), (-30, None)]
    due = ledger.due(ledger.lots(entries), day(45))
    assert due == 70
    entries.append((-due, None))
    assert ledger.due(ledger.lots(entries), day(45)) == 0
    assert ledger.lots(entries) == [Lot(day(60), 50)]


def test_a_debit_read_before_its_credit_is_paid_by_the_next_credits() -> None:
    held = ledger.lots([(-30, None), (100, day(30)), (20, day(40))])
    assert held == [Lot(day(30), 70), Lot(day(40), 20)]


def test_equal_expiries_are_reported_as_one_lot() -> None:
    assert ledger.lots([(10, day(5)), (15, day(5)), (-5, None)]) == [Lot(day(5), 20)]


@st.composite
def accounts(draw: st.DrawFn, monotone: bool) -> list[tuple[int, datetime | None]]:
    """An account's entries as written: credits and debits, the balance never negative.
    `monotone`: each credit expires no sooner than the credits before it (never-expiring
    credits come last), as with one fixed pointsExpiryDays."""
    entries: list[tuple[int, datetime | None]] = []
    balance, last = 0, 0
    never = False
    for _ in range(draw(st.integers(0, 25))):
        if balance > 0 and draw(st.booleans()):
            spent = draw(st.integers(1, balance))
            entries.append((-spent, None))
            balance -= spent
            continue
        points = draw(st.integers(1, 500))
        if monotone:
            if never or draw(st.integers(0, 9)) == 0:
                never, expires = True, None
            else:
                last += draw(st.integers(0, 40))
                expires = day(last)
        else:
            expires = None if draw(st.integers(0, 5)) == 0 else day(draw(st.integers(0, 200)))
        entries.append((points, expires))
        balance += points
    return entries


@given(accounts(monotone=False), st.integers(-10, 250))
def test_the_lots_add_up_to_the_balance_and_never_go_negative(
    entries: list[tuple[int, datetime | None]], at: int
) -> None:
    held = ledger.lots(entries)
    assert sum(lot.points for lot in held) == sum(p for p, _ in entries)
    assert all(lot.points > 0 for lot in held)
    due = ledger.due(held, day(at))
    assert 0 <= due <= sum(p for p, _ in entries)
    # Expiring what is due leaves nothing due at that moment, and the rest untouched.
    after = ledger.lots([*entries, (-due, None)] if due else entries)
    assert ledger.due(after, day(at)) == 0
    assert [lot for lot in after if lot.expires_at is None or lot.expires_at > day(at)] == [
        lot for lot in held if lot.expires_at is None or lot.expires_at > day(at)
    ]


@given(accounts(monotone=True), st.integers(-10, 1100))
def test_with_credits_written_in_expiry_order_the_fold_equals_the_sums(
    entries: list[tuple[int, datetime | None]], at: int
) -> None:
    credits = sum(p for p, _ in entries if p > 0)
    credits_due = sum(p for p, e in entries if p > 0 and e is not None and e <= day(at))
    balance = sum(p for p, _ in entries)
    assert ledger.due(ledger.lots(entries), day(at)) == ledger.expirable(credits, credits_due, balance)


# Tier lapses -------------------------------------------------------------------------------

PROGRAM = LoyaltyProgram.model_validate(
    {
        "programId": 1,
        "name": "Club",
        "tiers": [
            {"number": 1, "name": "Silver", "threshold": 0},
            {"number": 2, "name": "Gold", "threshold": 500, "validityDays": 365},
            {"number": 3, "name": "Platinum", "threshold": 1000, "validityDays": 180},
        ],
    }
)


def test_a_tier_whose_window_reaches_its_threshold_is_renewed_from_its_old_expiry() -> None:
    state = tiers.TierState(3, day(180), 0)
    out = tiers.reevaluate(PROGRAM, state, [(day(0), 1000)], 1100, day(185))
    assert out == tiers.Lapsed(tiers.TierState(3, day(360), 0), 1, False)


def test_a_tier_falling_short_drops_to_what_the_window_reaches_and_sets_the_base() -> None:
    state = tiers.TierState(3, day(180), 0)
    # 400 earned before the window, 700 in it, a 100-point return in it, 50 after the lapse.
    earned = [(day(-10), 400), (day(20), 700), (day(30), -100), (day(181), 50)]
    out = tiers.reevaluate(PROGRAM, state, earned, 1050, day(181))
    # Window 600: Gold from the lapse; lifetime at the lapse 1000, less the window.
    assert out == tiers.Lapsed(tiers.TierState(2, day(180 + 365), 400), 1, True)


def test_the_window_includes_its_start_and_excludes_the_lapse_moment() -> None:
    state = tiers.TierState(2, day(365), 0)
    at_start = tiers.reevaluate(PROGRAM, state, [(day(0), 500)], 500, day(365))
    assert at_start.state.tier_number == 2
    at_lapse = tiers.reevaluate(PROGRAM, state, [(day(365), 500)], 500, day(365))
    assert at_lapse.state == tiers.TierState(1, None, 0)


def test_a_late_run_applies_each_lapse_in_turn() -> None:
    state = tiers.TierState(3, day(180), 0)
    out = tiers.reevaluate(PROGRAM, state, [(day(0), 1000)], 1000, day(400))
    # Renewed at day 180 (1000 in the window), dropped at day 360 (nothing earned).
    assert out == tiers.Lapsed(tiers.TierState(1, None, 1000), 2, True)


def test_a_stated_expiry_on_a_tier_without_validity_places_the_tier_by_qualifying_points() -> None:
    plain = LoyaltyProgram.model_validate(
        {
            "programId": 2,
            "name": "P",
            "tiers": [{"number": 1, "name": "A"}, {"number": 2, "name": "B", "threshold": 10}],
        }
    )
    out = tiers.reevaluate(plain, tiers.TierState(2, day(5), 0), [], 4, day(6))
    assert out == tiers.Lapsed(tiers.TierState(1, None, 0), 1, True)
    kept = tiers.reevaluate(plain, tiers.TierState(2, day(5), 0), [], 40, day(6))
    assert kept == tiers.Lapsed(tiers.TierState(2, None, 0), 1, False)


def test_the_window_start_is_the_tier_validity_before_its_expiry() -> None:
    assert tiers.window_start(PROGRAM, tiers.TierState(3, day(180), 0)) == day(0)
    assert tiers.window_start(PROGRAM, tiers.TierState(1, day(7), 0)) == day(7)
