"""Requests to recipes: paraphrases find the right task, nonsense and near-misses find none."""

from __future__ import annotations

import pytest

from fame_desktop.orchestrator.codegen import OfflineGenerator, RecipeLibrary
from fame_desktop.orchestrator.codegen.matching import phrase_span, stem, words

PARAPHRASES = [
    ("Write a Python function to reverse a string", "reverse_string"),
    ("write python code that reverses the characters of a string", "reverse_string"),
    ("implement binary search in python", "binary_search"),
    ("code a function that checks if a number is prime", "is_prime"),
    ("list all primes below 1000", "primes_up_to"),
    ("sieve of eratosthenes please", "primes_up_to"),
    ("script to compute the fibonacci sequence", "fibonacci"),
    ("can you write a function that returns the factorial of n", "factorial"),
    ("I need python code to check whether a word is a palindrome", "palindrome"),
    ("could you code up a function that checks if two words are anagrams", "anagram"),
    ("write a program that prints fizzbuzz up to 100", "fizzbuzz"),
    ("give me a script that counts word frequency", "word_frequency"),
    ("write a snippet that merges two sorted arrays", "merge_sorted_lists"),
    ("python snippet to flatten a nested list", "flatten_list"),
    ("implement a stack with push pop and peek", "stack"),
    ("how do I implement a stack", "stack"),
    ("how do I implement a queue class in python", "queue"),
    ("I need an implementation of an LRU cache", "lru_cache"),
    ("code a caesar cipher encoder", "caesar_cipher"),
    ("write code that converts roman numerals to integers", "roman_numerals"),
    ("write me a trie data structure with insert and search", "trie"),
    ("implement dijkstra's shortest path algorithm", "dijkstra"),
    ("order build steps by their dependencies", "topological_sort"),
    ("turn a blog title into a url slug", "slugify"),
    ("multiply two matrices", "matrix_multiply"),
    ("create a function computing the greatest common divisor of two numbers", "gcd_lcm"),
    ("bubble sort in python", "bubble_sort"),
    ("sort a list of numbers", "merge_sort"),
    ("implement quicksort for a list of integers", "quick_sort"),
    ("find two numbers in a list that add up to a target", "two_sum"),
    ("build a function that validates balanced brackets in a string", "valid_parentheses"),
    ("implement run length encoding in python", "run_length_encoding"),
    ("give me a function that removes duplicates from a list but keeps the order", "remove_duplicates"),
    ("python function to count vowels in a sentence", "count_vowels"),
]

NONSENSE = [
    "tell me a joke",
    "what is the weather in Paris",
    "how do I cook pasta",
    "write a function",
    "a prime minister's speech",
    "a primer on sorting hats",
    "what's the stack overflow url",
    "the queue at the bank was long",
    "reverse the order of the words in a sentence",
    "a sorted list of my favourite films",
    "",
    "!!!???",
]


@pytest.fixture(scope="module")
def generator(library: RecipeLibrary) -> OfflineGenerator:
    return OfflineGenerator(library)


@pytest.mark.parametrize(("text", "recipe_id"), PARAPHRASES)
def test_paraphrases_find_their_recipe(generator: OfflineGenerator, text: str, recipe_id: str) -> None:
    generated = generator.generate(text)
    assert generated is not None, (text, [(r.id, s) for r, s in generator.library.match(text)[:3]])
    assert generated.recipe_id == recipe_id
    assert generated.source == "library"
    assert generated.tests and generated.entry and generated.explanation


@pytest.mark.parametrize("text", NONSENSE)
def test_nonsense_and_near_misses_find_nothing(generator: OfflineGenerator, text: str) -> None:
    assert generator.generate(text) is None


def test_whole_words_only() -> None:
    assert words("Primer, primes and PRIME!") == ["primer", "prime", "prime"]
    assert phrase_span(words("a primer"), ("prime",)) is None
    assert phrase_span(words("reverse the whole input string"), ("reverse", "whole", "string")) == 1
    assert phrase_span(words("reverse x y z string"), ("reverse", "string")) is None  # gap of 3
    assert stem("queries") == "query" and stem("boxes") == "box" and stem("class") == "class"


def test_suggestions_for_a_vague_request(generator: OfflineGenerator) -> None:
    near = [r.id for r in generator.suggestions("something with a queue")]
    assert near and near[0] == "queue"
    assert generator.suggestions("tell me a joke") == []


def test_match_scores_rank_the_named_task_first(library: RecipeLibrary) -> None:
    ranked = library.match("merge two sorted lists")
    assert ranked[0][0].id == "merge_sorted_lists"
    assert all(score > 0 for _, score in ranked)
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
