import pytest

from servicedesk.imports.csvfile import CsvFileError, decode, read_table

REQUIRED = ("serial", "offering", "start", "end")
HEADER = "serial,offering,start,end"


def test_rows_are_keyed_by_column_and_stripped():
    table = read_table(f"{HEADER}\n PF1 , depot ,2025-03-01,2026-02-28\n", REQUIRED)
    assert table.columns == REQUIRED
    [row] = table.rows
    assert row.line == 2
    assert row.problem is None
    assert row.values == {
        "serial": "PF1",
        "offering": "depot",
        "start": "2025-03-01",
        "end": "2026-02-28",
    }


def test_header_names_are_matched_case_insensitively_and_in_any_order():
    table = read_table(" End ,START,Offering,serial\n2026-01-01,2025-01-01,kyd,PF1\n", REQUIRED)
    assert table.rows[0].values["end"] == "2026-01-01"
    assert table.rows[0].values["serial"] == "PF1"


def test_line_numbers_count_the_header_blank_lines_and_quoted_line_breaks():
    text = 'code,address\r\nC1,plain\r\n\r\nC2,"two\r\nlines"\r\nC3,after\r\n,\r\nC4,last'
    table = read_table(text, ("code", "address"))
    assert [(row.line, row.values["code"]) for row in table.rows] == [
        (2, "C1"),
        (4, "C2"),
        (6, "C3"),
        (8, "C4"),
    ]
    assert table.rows[1].values["address"] == "two\r\nlines"


@pytest.mark.parametrize("fields", ["PF1,depot,2025-03-01", "PF1,depot,2025-03-01,2026-01-01,x"])
def test_a_row_with_the_wrong_number_of_fields_is_kept_with_its_problem(fields):
    table = read_table(f"{HEADER}\n{fields}\nPF2,kyd,2025-03-01,2026-01-01\n", REQUIRED)
    bad, good = table.rows
    assert bad.line == 2
    assert bad.values == {}
    assert "the header has 4" in bad.problem
    assert good.problem is None


def test_unknown_columns_are_ignored_and_listed():
    table = read_table(f"{HEADER},note,\nPF1,depot,2025-03-01,2026-01-01,hi,\n", REQUIRED)
    assert table.ignored_columns == ("note",)
    assert "note" in table.rows[0].values
    assert set(REQUIRED) <= set(table.rows[0].values)


def test_optional_columns_are_not_ignored():
    table = read_table(f"{HEADER},comment\n", REQUIRED, optional=("comment",))
    assert table.ignored_columns == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("serial,offering,start\nPF1,depot,2025-01-01\n", "lacks the column(s) end"),
        ("serial,offering\n", "lacks the column(s) start, end"),
        ("serial,offering,start,end,start\n", "names start more than once"),
        (HEADER + '\nPF1,"' + "x" * 200_000, "line 2: the file is not valid CSV"),
    ],
)
def test_an_unusable_header_refuses_the_file(text, message):
    with pytest.raises(CsvFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_table(text, REQUIRED)


def test_decode_drops_the_byte_order_mark():
    assert decode("\ufeffserial,offering".encode()) == "serial,offering"
    assert decode(b"serial") == "serial"


def test_decode_refuses_other_encodings_with_the_line():
    data = "code,name\nC1,ok\nC2,北京星河\n".encode("gbk")
    with pytest.raises(CsvFileError, match="not UTF-8 \\(first bad byte on line 3\\)"):
        decode(data)
