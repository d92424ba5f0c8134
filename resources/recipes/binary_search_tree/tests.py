def test_insert_and_in_order_is_sorted():
    t = BinarySearchTree()
    for v in [50, 30, 70, 20, 40, 60, 80]:
        assert t.insert(v) is True
    assert t.in_order() == [20, 30, 40, 50, 60, 70, 80]
    assert len(t) == 7


def test_contains():
    t = BinarySearchTree([8, 3, 10, 1, 6, 14])
    for v in (8, 3, 10, 1, 6, 14):
        assert t.contains(v)
        assert v in t
    for v in (0, 2, 7, 9, 15):
        assert not t.contains(v)
        assert v not in t


def test_empty_tree():
    t = BinarySearchTree()
    assert len(t) == 0
    assert t.in_order() == []
    assert not t.contains(1)


def test_single_and_duplicates():
    t = BinarySearchTree()
    assert t.insert(5) is True
    assert t.insert(5) is False
    assert t.in_order() == [5]
    assert len(t) == 1


def test_strings_and_unicode():
    t = BinarySearchTree(["pear", "äpfel", "apple", "zebra"])
    assert t.in_order() == ["apple", "pear", "zebra", "äpfel"]
    assert "äpfel" in t and "banana" not in t


def test_sorted_inserts_do_not_break():
    t = BinarySearchTree(range(300))
    assert t.in_order() == list(range(300))
    assert t.contains(299) and not t.contains(300)
