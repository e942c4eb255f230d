"""Business-day calendar of the synthetic NSE-like market: weekdays minus a fixed set of Indian market holidays.

Fixed-date holidays: Republic Day (26 Jan), Maharashtra Day (1 May), Independence Day (15 Aug), Gandhi Jayanti
(2 Oct), Christmas (25 Dec). Moving holidays are fixed per year by deterministic rules that track the real ones to
within a day or two: Holi (day after the first full moon on or after 28 Feb), Good Friday (Gregorian Easter),
Eid al-Fitr (a lunar-year step from 18 Jul 2015), Dussehra (20 days before Diwali), Diwali Laxmi Pujan (first new
moon on or after 17 Oct) and Diwali Balipratipada (the day after). Moon phases use the mean synodic month, in IST.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

_SYNODIC_DAYS = 29.530588853
_REFERENCE_NEW_MOON = dt.datetime(2000, 1, 6, 18, 14)  # UTC
_IST = dt.timedelta(hours=5, minutes=30)
_LUNAR_YEAR_DAYS = 354.367
_EID_ANCHOR = dt.date(2015, 7, 18)


def _next_moon(after: dt.date, phase_days: float) -> dt.date:
    """IST date of the first moon of the given phase (0 new, half a month full) on or after ``after``."""
    reference = _REFERENCE_NEW_MOON + dt.timedelta(days=phase_days)
    start = dt.datetime.combine(after, dt.time()) - _IST  # midnight IST in UTC
    k = math.ceil((start - reference).total_seconds() / 86400.0 / _SYNODIC_DAYS)
    return (reference + dt.timedelta(days=k * _SYNODIC_DAYS) + _IST).date()


def _good_friday(year: int) -> dt.date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * ell) // 433
    month = (h + ell - 7 * m + 90) // 25
    day = (h + ell - 7 * m + 33 * month + 19) % 32
    return dt.date(year, month, day) - dt.timedelta(days=2)


def _eid_al_fitr(year: int) -> dt.date:
    k = math.ceil((dt.date(year, 1, 1) - _EID_ANCHOR).days / _LUNAR_YEAR_DAYS)
    return _EID_ANCHOR + dt.timedelta(days=round(k * _LUNAR_YEAR_DAYS))


def indian_market_holidays(year: int) -> list[dt.date]:
    """Sorted holiday dates of ``year`` (weekend dates included; they are closed anyway)."""
    diwali = _next_moon(dt.date(year, 10, 17), 0.0)
    days = {
        dt.date(year, 1, 26),
        dt.date(year, 5, 1),
        dt.date(year, 8, 15),
        dt.date(year, 10, 2),
        dt.date(year, 12, 25),
        _next_moon(dt.date(year, 2, 28), _SYNODIC_DAYS / 2) + dt.timedelta(days=1),
        _good_friday(year),
        _eid_al_fitr(year),
        diwali - dt.timedelta(days=20),
        diwali,
        diwali + dt.timedelta(days=1),
    }
    return sorted(d for d in days if d.year == year)


def trading_days(start: dt.date, end: dt.date) -> np.ndarray:
    """(T,) datetime64[D] business days in ``[start, end]`` excluding :func:`indian_market_holidays`."""
    holidays = [d for year in range(start.year, end.year + 2) for d in indian_market_holidays(year)]
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1, dtype="datetime64[D]")
    return days[np.is_busday(days, holidays=np.array(holidays, dtype="datetime64[D]"))]


def week_ids(days: np.ndarray) -> np.ndarray:
    """(T,) int64 Monday-based week number since the epoch for datetime64[D] ``days``."""
    return (days.astype("datetime64[D]").astype(np.int64) + 3) // 7
