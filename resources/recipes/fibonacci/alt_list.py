"""Build the whole list of Fibonacci numbers, then take the last one."""


def fibonacci(n):
    if n < 0:
        raise ValueError("n must be non-negative")
    seq = [0, 1]
    while len(seq) <= n:
        seq.append(seq[-1] + seq[-2])
    return seq[n]
