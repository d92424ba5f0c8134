"""No heap: scan for the closest unsettled node each step (O(V^2))."""


def dijkstra(graph, source):
    distances = {source: 0}
    settled = set()
    while True:
        open_nodes = [(d, n) for n, d in distances.items() if n not in settled]
        if not open_nodes:
            return distances
        dist, node = min(open_nodes, key=lambda item: item[0])
        settled.add(node)
        for neighbour, weight in graph.get(node, ()):
            if weight < 0:
                raise ValueError("Dijkstra needs non-negative weights")
            if dist + weight < distances.get(neighbour, float("inf")):
                distances[neighbour] = dist + weight
