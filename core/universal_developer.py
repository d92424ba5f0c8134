"""universal_developer: writes code with tests (run in the sandbox) and designs architectures."""

from __future__ import annotations

from typing import Any

PLUGIN = {
    "name": "universal_developer",
    "version": "1.0.0",
    "description": "Code generation with tests run in the sandbox, and software architecture design.",
    "intents": {
        "generate_code": [
            "Write a Python function to reverse a string",
            "implement binary search in python",
            "code a function that checks if a number is prime",
            "create a stack class",
            "give me a script that counts word frequency",
            "write a program to merge two sorted lists",
            "python snippet to flatten a nested list",
            "I need an implementation of an LRU cache",
        ],
        "architecture_design": [
            "design the architecture for a chat application",
            "what architecture should I use for an e-commerce platform",
            "microservices or monolith for my startup",
            "system design for a url shortener",
            "how should I structure a plugin based desktop app",
            "suggest an event driven architecture for order processing",
            "architecture patterns for a scalable backend",
        ],
    },
    "keywords": {
        "generate_code": [
            "write a function",
            "function",
            "implement",
            "implementation",
            "code",
            "script",
            "program",
            "python",
            "algorithm",
            "class",
            "method",
            "snippet",
            "coding",
            "refactor",
            "regex",
            "write code",
            "sort",
            "parse",
            "recursive",
            "fibonacci",
            "palindrome",
            "binary search",
            "linked list",
            "stack",
            "queue",
            "reverse a string",
            "javascript",
            "unit test",
            "leetcode",
            "anagram",
            "fizzbuzz",
            "factorial",
            "prime",
            "caesar cipher",
            "roman numeral",
            "trie",
            "dijkstra",
            "topological",
            "lru cache",
            "flatten",
            "slugify",
        ],
        "architecture_design": [
            "architecture",
            "architect",
            "system design",
            "design a system",
            "microservice",
            "monolith",
            "scalable",
            "scalability",
            "design pattern",
            "event driven",
            "cqrs",
            "event sourcing",
            "hexagonal",
            "layered",
            "serverless",
            "infrastructure",
            "high level design",
            "tech stack",
            "component diagram",
            "distributed system",
            "backend design",
            "saga",
            "message queue",
            "load balancer",
        ],
    },
    "needs_network": False,
    "timeout_seconds": 120,
}

MANAGER: Any = None


def init(manager: Any) -> None:
    """Keep the plugin context (code generation and architecture services come through it)."""
    global MANAGER
    MANAGER = manager


async def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Answer ``generate_code`` with tested code, ``architecture_design`` with patterns."""
    text = str(request.get("text", ""))
    if request.get("intent") == "architecture_design":
        kb = MANAGER.architecture if MANAGER else None
        if kb is None:
            return {
                "response": "The architecture knowledge base is not available.",
                "error": {"code": "not_available", "message": "Architecture knowledge base missing."},
            }
        advice = kb.advise(text)
        return {
            "response": advice.markdown,
            "data": {
                "patterns": [
                    {"id": getattr(p, "id", str(p)), "score": round(s, 3)} for p, s in advice.patterns
                ]
            },
        }
    codegen = MANAGER.codegen if MANAGER else None
    if codegen is None:
        return {
            "response": "Code generation is not available.",
            "error": {"code": "not_available", "message": "Code generation service missing."},
        }
    if MANAGER is not None:
        MANAGER.progress(str(request.get("id", "")), "Generating code and running its tests in the sandbox")
    result: dict[str, Any] = await codegen.answer(text, query_id=str(request.get("id", "")) or None)
    return result
