def test_append_and_prepend():
    ll = LinkedList()
    ll.append(2)
    ll.append(3)
    ll.prepend(1)
    assert ll.to_list() == [1, 2, 3]
    assert len(ll) == 3


def test_empty_list():
    ll = LinkedList()
    assert ll.to_list() == []
    assert len(ll) == 0
    ll.reverse()
    assert ll.to_list() == []


def test_remove_head_middle_tail():
    ll = LinkedList([1, 2, 3, 2, 4])
    ll.remove(2)
    assert ll.to_list() == [1, 3, 2, 4]
    ll.remove(1)
    ll.remove(4)
    assert ll.to_list() == [3, 2]
    ll.append(9)
    assert ll.to_list() == [3, 2, 9]


def test_remove_missing_raises():
    ll = LinkedList(["a"])
    try:
        ll.remove("b")
    except ValueError:
        pass
    else:
        raise AssertionError("expected ValueError")
    ll.remove("a")
    assert ll.to_list() == [] and len(ll) == 0
    ll.append("c")
    assert ll.to_list() == ["c"]


def test_reverse_then_append():
    ll = LinkedList([1, 2, 3, 4])
    ll.reverse()
    assert ll.to_list() == [4, 3, 2, 1]
    ll.append(0)
    ll.prepend(5)
    assert ll.to_list() == [5, 4, 3, 2, 1, 0]


def test_single_element_and_iteration():
    ll = LinkedList(["é"])
    ll.reverse()
    assert list(ll) == ["é"]
    assert [x for x in LinkedList("abc")] == ["a", "b", "c"]
