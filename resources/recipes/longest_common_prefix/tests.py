def test_classic():
    assert longest_common_prefix(["flower", "flow", "flight"]) == "fl"


def test_no_common_prefix():
    assert longest_common_prefix(["dog", "racecar", "car"]) == ""


def test_empty_list_and_empty_string():
    assert longest_common_prefix([]) == ""
    assert longest_common_prefix(["", "abc"]) == ""


def test_single_and_identical():
    assert longest_common_prefix(["alone"]) == "alone"
    assert longest_common_prefix(["same", "same", "same"]) == "same"


def test_one_string_is_prefix_of_another():
    assert longest_common_prefix(["interview", "inter", "internet"]) == "inter"


def test_unicode_and_case():
    assert longest_common_prefix(["naïve", "naïveté", "naïf"]) == "naï"
    assert longest_common_prefix(["Apple", "apple"]) == ""
