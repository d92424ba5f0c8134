def test_classic_sequence():
    c = LRUCache(2)
    c.put(1, 1)
    c.put(2, 2)
    assert c.get(1) == 1
    c.put(3, 3)  # evicts 2
    assert c.get(2) == -1
    c.put(4, 4)  # evicts 1
    assert c.get(1) == -1
    assert c.get(3) == 3
    assert c.get(4) == 4


def test_update_refreshes():
    c = LRUCache(2)
    c.put("a", 1)
    c.put("b", 2)
    c.put("a", 10)  # a is now most recent
    c.put("c", 3)  # evicts b
    assert c.get("a") == 10
    assert c.get("b") == -1
    assert len(c) == 2


def test_capacity_one_and_invalid():
    c = LRUCache(1)
    c.put(1, 1)
    c.put(2, 2)
    assert c.get(1) == -1 and c.get(2) == 2
    try:
        LRUCache(0)
    except ValueError:
        return
    raise AssertionError("capacity 0 should raise ValueError")
