def test_basic():
    assert slugify("Hello World") == "hello-world"
    assert slugify("  Hello,   World!  ") == "hello-world"


def test_accents():
    assert slugify("Héllo Wörld") == "hello-world"
    assert slugify("Crème Brûlée") == "creme-brulee"


def test_punctuation_runs_and_underscores():
    assert slugify("a -- b __ c") == "a-b-c"
    assert slugify("C'est la vie!") == "c-est-la-vie"


def test_empty_and_symbols():
    assert slugify("") == ""
    assert slugify("!!!") == ""
    assert slugify("2024 Report") == "2024-report"
