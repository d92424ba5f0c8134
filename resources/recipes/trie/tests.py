def test_insert_and_search():
    t = Trie()
    for w in ("apple", "app", "apt", "bat"):
        t.insert(w)
    assert t.search("apple") and t.search("app") and t.search("bat")
    assert not t.search("ap")
    assert not t.search("apples")
    assert not t.search("")


def test_prefixes():
    t = Trie()
    t.insert("hello")
    assert t.starts_with("he") and t.starts_with("hello") and t.starts_with("")
    assert not t.starts_with("hex")


def test_words_with_prefix():
    t = Trie()
    for w in ("car", "cart", "care", "cat", "dog"):
        t.insert(w)
    assert t.words_with_prefix("car") == ["car", "care", "cart"]
    assert t.words_with_prefix("ca") == ["car", "care", "cart", "cat"]
    assert t.words_with_prefix("x") == []


def test_empty_word():
    t = Trie()
    t.insert("")
    assert t.search("")
