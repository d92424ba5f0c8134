"""universal_developer: writes code with tests (run in the sandbox) and designs architectures."""

from __future__ import annotations

from typing import Any

from fame_plugin_api import HostSlot, PluginHost, ServiceUnavailable, error_result, query_id, request_text

PLUGIN = {
    "schema_version": 1,
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

_HOST = HostSlot("universal_developer")


def init(manager: PluginHost) -> None:
    """Keep the plugin context (code generation and architecture advice are its tasks)."""
    _HOST.set(manager)


async def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Answer ``generate_code`` with tested code, ``architecture_design`` with patterns."""
    host = _HOST.get()
    text = request_text(request)
    if request.get("intent") == "architecture_design":
        try:
            advice = await host.design_architecture(text, query_id=query_id(request) or None)
        except ServiceUnavailable as exc:
            return error_result("not_available", str(exc))
        patterns = [{"id": p["id"], "score": round(p["score"], 3)} for p in advice["patterns"]]
        data = {"patterns": patterns, "source": advice.get("source", "knowledge_base")}
        data.update({k: advice[k] for k in ("llm", "llm_backend", "llm_model") if k in advice})
        return {"response": advice["markdown"], "data": data}
    host.progress(query_id(request), "Generating code and running its tests in the sandbox")
    try:
        return await host.generate_code(text, query_id=query_id(request) or None)
    except ServiceUnavailable as exc:
        return error_result("not_available", str(exc))
