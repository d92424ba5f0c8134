import heapq


def dijkstra(graph: dict, source) -> dict:
    """Shortest distance from ``source`` to every node reachable in ``graph``.

    ``graph`` maps a node to a list of ``(neighbour, weight)`` pairs; weights must be >= 0.
    """
    distances = {source: 0}
    heap = [(0, source)]
    settled = set()
    while heap:
        dist, node = heapq.heappop(heap)
        if node in settled:
            continue
        settled.add(node)
        for neighbour, weight in graph.get(node, ()):
            if weight < 0:
                raise ValueError("Dijkstra needs non-negative weights")
            candidate = dist + weight
            if candidate < distances.get(neighbour, float("inf")):
                distances[neighbour] = candidate
                heapq.heappush(heap, (candidate, neighbour))
    return distances
