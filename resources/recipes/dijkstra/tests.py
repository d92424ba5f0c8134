def test_small_graph():
    g = {
        "A": [("B", 1), ("C", 4)],
        "B": [("C", 2), ("D", 5)],
        "C": [("D", 1)],
        "D": [],
    }
    assert dijkstra(g, "A") == {"A": 0, "B": 1, "C": 3, "D": 4}


def test_unreachable_nodes_are_absent():
    g = {1: [(2, 7)], 2: [], 3: [(1, 1)]}
    assert dijkstra(g, 1) == {1: 0, 2: 7}


def test_cycle_and_zero_weight():
    g = {0: [(1, 0)], 1: [(2, 3), (0, 1)], 2: [(0, 2)]}
    assert dijkstra(g, 0) == {0: 0, 1: 0, 2: 3}


def test_negative_weight_raises():
    try:
        dijkstra({0: [(1, -1)], 1: []}, 0)
    except ValueError:
        return
    raise AssertionError("negative weights should raise ValueError")
