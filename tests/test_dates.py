"""The embedded seq2seq dataset: human dates -> ISO 8601, checked by an independent parser."""
import datetime
import re

import numpy as np
import pytest

from tinyrnn.data.dates import (DATE_FORMS, FIRST_DATE, LAST_DATE, MAX_SOURCE_CHARS, date_pairs,
                                default_date_pairs, format_date)
from tinyrnn.errors import ConfigError

MONTHS = "january february march april may june july august september october november december".split()
WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()


def read_date(text):
    """An independent reading of a human date: the date, or None when the text is not one
    of the shapes below or names a weekday that is not the date's."""
    plain = text.lower().replace(",", "")
    patterns = [  # (regex, order of its groups); numbers are day first or year first
        (r"(\d{1,2})/(\d{1,2})/(\d{4})", "dmy"), (r"(\d{1,2})\.(\d{1,2})\.(\d{4})", "dmy"),
        (r"(\d{4})/(\d{2})/(\d{2})", "ymd"), (r"(\d{4})(\d{2})(\d{2})", "ymd"),
        (r"(?:the )?(\d{1,2})(?:st|nd|rd|th)? (?:of )?([a-z]+) (\d{4})", "dMy"),
        (r"(\d{2})-([a-z]+)-(\d{4})", "dMy"),
        (r"([a-z]+) (\d{1,2})(?:st|nd|rd|th)? (\d{4})", "Mdy"), (r"(\d{4}) ([a-z]+) (\d{1,2})", "yMd"),
    ]
    weekday, _, rest = plain.partition(" ")
    if weekday not in [w for day in WEEKDAYS for w in (day, day[:3])]:
        weekday, rest = None, plain
    for pattern, order in patterns:
        match = re.fullmatch(pattern, rest)
        if match:
            fields = dict(zip(order, match.groups()))
            month = fields.get("m") or next((i + 1 for i, name in enumerate(MONTHS)
                                             if fields["M"] in (name, name[:3])), None)
            if month is None:
                return None
            date = datetime.date(int(fields["y"]), int(month), int(fields["d"]))
            if weekday and WEEKDAYS[date.weekday()][:len(weekday)] != weekday:
                return None
            return date
    return None


def test_targets_are_the_drawn_dates_in_iso_form():
    pairs = date_pairs(3000, np.random.default_rng(1))
    assert len(pairs) == 3000 and pairs.origins[:2] == ["dates:1", "dates:2"]
    dates = [datetime.date.fromisoformat(target) for target in pairs.targets]
    assert all(FIRST_DATE <= date <= LAST_DATE for date in dates)
    assert [read_date(source) for source in pairs.sources] == dates
    years = np.array([date.year for date in dates])
    assert years.min() < 1910 and years.max() > 2089 and abs(years.mean() - 2000) < 5   # uniform
    assert max(len(source) for source in pairs.sources) <= MAX_SOURCE_CHARS


def test_every_form_is_drawn_and_reads_back_to_its_date():
    assert len(DATE_FORMS) >= 15 and len(set(DATE_FORMS)) == len(DATE_FORMS)
    pairs = date_pairs(2000, np.random.default_rng(2))
    drawn = {form for source, target in zip(pairs.sources, pairs.targets) for form in DATE_FORMS
             if format_date(datetime.date.fromisoformat(target), form) == source}
    assert drawn == set(DATE_FORMS)
    assert any(source != source.lower() for source in pairs.sources)           # capitals too
    days = [datetime.date(2015, 1, 1) + datetime.timedelta(days=i) for i in range(0, 365, 3)]
    days += [datetime.date(1900, 1, 1), datetime.date(2099, 12, 31), datetime.date(2000, 2, 29)]
    for form in DATE_FORMS:
        for day in days:
            text = format_date(day, form)
            assert read_date(text) == day, (form, text)
            assert len(text) <= MAX_SOURCE_CHARS


def test_the_fields_of_a_form():
    saturday = datetime.date(2015, 5, 9)
    assert format_date(saturday, "{weekday}, {month} {d}, {yyyy}") == "saturday, may 9, 2015"
    assert format_date(saturday, "{Wkd}, {dd} {Mon} {yyyy}") == "Sat, 09 May 2015"
    assert format_date(saturday, "{dd}/{mm}/{yyyy}") == "09/05/2015"          # day first
    assert format_date(datetime.date(2015, 9, 30), "{WEEKDAY} {d} {MONTH}") == "WEDNESDAY 30 SEPTEMBER"
    ordinals = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th",
                21: "21st", 22: "22nd", 23: "23rd", 30: "30th", 31: "31st"}
    for day, written in ordinals.items():
        assert format_date(datetime.date(2015, 1, day), "{dth}") == written


def test_a_weekday_that_is_wrong_is_caught_by_the_checker():
    assert read_date("friday, may 9, 2015") is None and read_date("sat 9 may 2015") == datetime.date(2015, 5, 9)


def test_a_seed_gives_the_same_pairs_and_another_seed_others():
    first, again = date_pairs(50, np.random.default_rng(7)), date_pairs(50, np.random.default_rng(7))
    assert (first.sources, first.targets) == (again.sources, again.targets)
    other = date_pairs(50, np.random.default_rng(8))
    assert first.targets != other.targets and first.sources != other.sources
    default = default_date_pairs(count=50)
    assert default.sources == date_pairs(50, np.random.default_rng(0)).sources


def test_the_default_set_is_large_and_varied():
    pairs = default_date_pairs()
    assert len(pairs) == 20_000 and len(set(pairs.sources)) > 19_000


@pytest.mark.parametrize("count", [0, -3, 2.0, True])
def test_a_count_must_be_a_positive_whole_number(count):
    with pytest.raises(ConfigError):
        date_pairs(count, np.random.default_rng(0))
