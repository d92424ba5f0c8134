def _respects(order, graph):
    position = {node: i for i, node in enumerate(order)}
    return all(position[a] < position[b] for a, succs in graph.items() for b in succs)


def test_simple_chain_and_diamond():
    assert topological_sort({"a": ["b"], "b": ["c"], "c": []}) == ["a", "b", "c"]
    g = {"shirt": ["tie"], "tie": ["jacket"], "pants": ["shoes", "jacket"], "socks": ["shoes"]}
    order = topological_sort(g)
    assert _respects(order, g)
    assert sorted(order) == sorted(["shirt", "tie", "jacket", "pants", "shoes", "socks"])


def test_deterministic_tie_breaking():
    assert topological_sort({3: [], 1: [], 2: []}) == [1, 2, 3]


def test_cycle_raises():
    try:
        topological_sort({"a": ["b"], "b": ["a"]})
    except ValueError:
        return
    raise AssertionError("a cycle should raise ValueError")


def test_empty():
    assert topological_sort({}) == []
