"""The embedded sequence-to-sequence dataset: dates as people write them -> ISO 8601.

    "saturday, may 9, 2015" -> "2015-05-09"      "09/05/2015" -> "2015-05-09"

Characters are the tokens on both sides. Each pair draws a date uniformly from 1900-01-01
to 2099-12-31 and a form uniformly from DATE_FORMS, both with the numpy Generator it is
given, so a seed gives the same pairs on every machine. To write the ISO date the decoder
must find the year, the month and the day at places that move from form to form, which is
what attention is for.

Every form has one answer: numbers are day first (09/05/2015 is the 9th of May) or year
first (2015/05/09, 20150509), never month first; years always have four digits; weekdays
are those of the date. Fields of a form (for 9 May 2015, a Saturday):
  d 9    dd 09    dth 9th    m 5    mm 05    yyyy 2015
  month may    Month May    MONTH MAY    mon may    Mon May    (3-letter: sep, not sept)
  weekday saturday    Weekday Saturday    WEEKDAY SATURDAY    wkd sat    Wkd Sat
No source is longer than MAX_SOURCE_CHARS (29: "wednesday, september 30, 2015").
"""
import datetime

import numpy as np

from ..errors import ConfigError
from .pairs import Pairs

DATE_FORMS = (
    "{d} {month} {yyyy}",                  # 9 may 2015
    "{month} {d}, {yyyy}",                 # may 9, 2015
    "{weekday}, {month} {d}, {yyyy}",      # saturday, may 9, 2015
    "{wkd} {d} {mon} {yyyy}",              # sat 9 may 2015
    "{dd}/{mm}/{yyyy}",                    # 09/05/2015
    "{d}.{m}.{yyyy}",                      # 9.5.2015
    "{dd}.{mm}.{yyyy}",                    # 09.05.2015
    "{yyyy} {month} {d}",                  # 2015 may 9
    "the {dth} of {month} {yyyy}",         # the 9th of may 2015
    "{month} {dth} {yyyy}",                # may 9th 2015
    "{dth} {month} {yyyy}",                # 9th may 2015
    "{mon} {d} {yyyy}",                    # may 9 2015
    "{Month} {d} {yyyy}",                  # May 9 2015
    "{Mon} {d}, {yyyy}",                   # May 9, 2015
    "{d} {MONTH} {yyyy}",                  # 9 MAY 2015
    "{Weekday} {d} {Month} {yyyy}",        # Saturday 9 May 2015
    "{WEEKDAY} {d} {MONTH} {yyyy}",        # SATURDAY 9 MAY 2015
    "{Wkd}, {dd} {Mon} {yyyy}",            # Sat, 09 May 2015
    "{dd}-{Mon}-{yyyy}",                   # 09-May-2015
    "{yyyy}/{mm}/{dd}",                    # 2015/05/09
    "{yyyy}{mm}{dd}",                      # 20150509
)
FIRST_DATE, LAST_DATE = datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)
MAX_SOURCE_CHARS = 29
DEFAULT_DATE_COUNT = 20_000

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _ordinal(day):
    """9 -> "9th", 1 -> "1st", 22 -> "22nd", 13 -> "13th"."""
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def format_date(date, form):
    """date (a datetime.date) written in form (one of DATE_FORMS, or any string with the
    fields of the module docstring)."""
    month, weekday = _MONTHS[date.month - 1], _WEEKDAYS[date.weekday()]   # English, whatever the locale
    return form.format(
        d=date.day, dd=f"{date.day:02d}", dth=_ordinal(date.day),
        m=date.month, mm=f"{date.month:02d}", yyyy=f"{date.year:04d}",
        month=month, Month=month.title(), MONTH=month.upper(),
        mon=month[:3], Mon=month[:3].title(),
        weekday=weekday, Weekday=weekday.title(), WEEKDAY=weekday.upper(),
        wkd=weekday[:3], Wkd=weekday[:3].title())


def date_pairs(count, rng):
    """count pairs (human date, ISO date), origins "dates:1", "dates:2", ...: dates uniform
    over FIRST_DATE .. LAST_DATE and forms uniform over DATE_FORMS, drawn with rng (a numpy
    Generator, the only source of chance)."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ConfigError(f"the number of date pairs must be a whole number of 1 or more, got {count!r}")
    days = rng.integers(0, (LAST_DATE - FIRST_DATE).days + 1, size=count)
    forms = rng.integers(0, len(DATE_FORMS), size=count)
    pairs = Pairs()
    for number, (day, form) in enumerate(zip(days.tolist(), forms.tolist()), start=1):
        date = FIRST_DATE + datetime.timedelta(days=day)
        pairs.add(format_date(date, DATE_FORMS[form]), date.isoformat(), f"dates:{number}")
    return pairs


def default_date_pairs(seed=0, count=DEFAULT_DATE_COUNT):
    """The built-in seq2seq dataset: date_pairs(count, numpy.random.default_rng(seed)).

    20,000 pairs by default: the classic attention exercise on this problem (human dates ->
    ISO, Coursera's "Neural Machine Translation" assignment) learns it nearly perfectly from
    10,000; twice that leaves room to hold out validation and test pairs (split them with
    pairs.split_pairs, by source, so that no held-out text is also a training one) and
    covers every form about 950 times, while an epoch stays short (about 300,000 source
    characters). Few dates repeat: there are 73,049 of them."""
    return date_pairs(count, np.random.default_rng(seed))
