"""The raw reading of a feed's files: the fast structure pass agrees with the csv module's."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from transit.gtfs.findings import Findings
from transit.gtfs.model import FindingCode
from transit.gtfs.source import _parse_csv, _plain_structure, _quoted_structure

cells = st.text(alphabet="ab1 ;.", max_size=4)
rows = st.lists(st.lists(cells, min_size=0, max_size=5).map(",".join), min_size=1, max_size=30)


@given(rows, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_the_numpy_pass_finds_the_same_rows_and_widths_as_the_csv_module(
    lines: list[str], newline: str, final_newline: bool
) -> None:
    text = "a,b,c" + newline + newline.join(lines) + (newline if final_newline else "")
    fast_lines, fast_widths = _plain_structure(text)
    slow_lines, slow_widths = _quoted_structure(text)
    assert np.array_equal(fast_lines, slow_lines)
    assert np.array_equal(fast_widths, slow_widths)


def test_short_and_long_rows_are_reported_with_their_physical_lines() -> None:
    findings = Findings()
    text = "stop_id,stop_name,stop_lat,stop_lon\nS1,A,1,2\n\nS2,B\nS3,C,1,2,9\n"
    table = _parse_csv("stops", "stops.txt", text, findings)
    assert table is not None
    assert [(f.code, f.line) for f in findings] == [
        (FindingCode.WRONG_FIELD_COUNT, 5),
        (FindingCode.SHORT_ROW, 4),
    ]
    assert list(table.lines) == [2, 4]
    assert list(table.frame["stop_id"]) == ["S1", "S2"]
    assert table.frame.loc[1, "stop_lon"] == ""


def test_a_quoted_value_spanning_lines_keeps_the_line_where_its_row_starts() -> None:
    findings = Findings()
    text = 'stop_id,stop_name\nS1,"Main\nStreet"\nS2,B\n'
    table = _parse_csv("stops", "stops.txt", text, findings)
    assert table is not None and list(findings) == []
    assert list(table.lines) == [2, 4]
    assert table.frame.loc[0, "stop_name"] == "Main\nStreet"


def test_an_unclosed_quote_is_reported_not_raised() -> None:
    findings = Findings()
    assert _parse_csv("stops", "stops.txt", 'stop_id,stop_name\nS1,"Main\n', findings) is None
    assert [f.code for f in findings] == [FindingCode.UNTERMINATED_QUOTE]


def test_a_line_of_spaces_is_blank_and_keeps_the_line_numbers() -> None:
    findings = Findings()
    text = "stop_id,stop_name\nS1,A\n   \nS2,B\n"
    table = _parse_csv("stops", "stops.txt", text, findings)
    assert table is not None and list(findings) == []
    assert list(table.lines) == [2, 4]
