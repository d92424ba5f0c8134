"""Precomputed factors: one multiply and one add each way."""

ABSOLUTE_ZERO_C = -273.15
_TO_F = 1.8
_TO_C = 1 / 1.8


def celsius_to_fahrenheit(celsius: float) -> float:
    if celsius < ABSOLUTE_ZERO_C:
        raise ValueError("below absolute zero")
    return celsius * _TO_F + 32


def fahrenheit_to_celsius(fahrenheit: float) -> float:
    celsius = (fahrenheit - 32) * _TO_C
    if celsius < ABSOLUTE_ZERO_C - 1e-9:
        raise ValueError("below absolute zero")
    return celsius
