def fibonacci(n: int) -> int:
    """The n-th Fibonacci number (0, 1, 1, 2, 3, 5, ...); ``n`` must be >= 0."""
    if n < 0:
        raise ValueError("n must be non-negative")
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
