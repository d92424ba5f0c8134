import heapq


def topological_sort(graph: dict) -> list:
    """Nodes ordered so each comes before everything in its list; ValueError on a cycle."""
    indegree = {node: 0 for node in graph}
    for successors in graph.values():
        for succ in successors:
            indegree[succ] = indegree.get(succ, 0) + 1
    ready = [node for node, deg in indegree.items() if deg == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for succ in graph.get(node, ()):
            indegree[succ] -= 1
            if indegree[succ] == 0:
                heapq.heappush(ready, succ)
    if len(order) != len(indegree):
        raise ValueError("the graph has a cycle")
    return order
