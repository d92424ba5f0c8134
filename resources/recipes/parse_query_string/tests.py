def test_simple_pairs():
    assert parse_query_string("a=1&b=2") == {"a": ["1"], "b": ["2"]}


def test_leading_question_mark_and_empty():
    assert parse_query_string("?q=x") == {"q": ["x"]}
    assert parse_query_string("") == {}
    assert parse_query_string("?") == {}


def test_repeated_keys_keep_order():
    assert parse_query_string("tag=a&tag=b&x=1&tag=c") == {"tag": ["a", "b", "c"], "x": ["1"]}


def test_plus_and_percent_decoding():
    assert parse_query_string("q=hello+world&p=50%25+off") == {"q": ["hello world"], "p": ["50% off"]}
    assert parse_query_string("a%20b=c%3Dd") == {"a b": ["c=d"]}


def test_unicode():
    assert parse_query_string("name=Jos%C3%A9&check=%E2%9C%93") == {"name": ["José"], "check": ["✓"]}


def test_blank_values_and_empty_pairs():
    assert parse_query_string("flag&empty=&a=1&&") == {"flag": [""], "empty": [""], "a": ["1"]}


def test_value_with_equals_sign():
    assert parse_query_string("expr=a=b") == {"expr": ["a=b"]}
