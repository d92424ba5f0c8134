def test_plain_fields():
    assert parse_csv_line("a,b,c") == ["a", "b", "c"]


def test_empty_fields_and_empty_line():
    assert parse_csv_line("a,,c,") == ["a", "", "c", ""]
    assert parse_csv_line("") == [""]
    assert parse_csv_line(",") == ["", ""]


def test_quoted_field_with_delimiter():
    assert parse_csv_line('1,"Smith, John",x') == ["1", "Smith, John", "x"]


def test_escaped_quotes():
    assert parse_csv_line('"say ""hi""",2') == ['say "hi"', "2"]
    assert parse_csv_line('""') == [""]


def test_other_delimiter_and_unicode():
    assert parse_csv_line('é;ü;"a;b"', delimiter=";") == ["é", "ü", "a;b"]
    assert parse_csv_line(" a , b ") == [" a ", " b "]


def test_malformed_quotes_raise():
    for bad in ('"unterminated', 'a,"b', '"ab"c'):
        try:
            parse_csv_line(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"expected ValueError for {bad!r}")
