"""Re-scan every node for a ready one each step: O(V^2), same order."""


def topological_sort(graph):
    nodes = set(graph)
    for succs in graph.values():
        nodes.update(succs)
    indegree = {n: 0 for n in nodes}
    for succs in graph.values():
        for s in succs:
            indegree[s] += 1
    order = []
    done = set()
    while len(order) < len(nodes):
        ready = sorted(n for n in nodes if n not in done and indegree[n] == 0)
        if not ready:
            raise ValueError("the graph has a cycle")
        node = ready[0]
        done.add(node)
        order.append(node)
        for s in graph.get(node, ()):
            indegree[s] -= 1
    return order
