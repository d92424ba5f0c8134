"""The intents a plugin may serve: the Brain's routing targets, declared once.

A request may name its intent (``"intent": "generate_code"``); otherwise the Brain infers it from
the plugins' manifests. A manifest may only list intents from this table.
"""

from __future__ import annotations

from types import MappingProxyType

INTENTS: MappingProxyType[str, str] = MappingProxyType(
    {
        "generate_code": "Write code for a programming task, with tests, run in the sandbox.",
        "architecture_design": "Design a software system: patterns and trade-offs.",
        "market_analysis": "Crypto prices, change, moving averages, RSI, volatility.",
        "web_search": "Search the web or read a web page.",
        "evolution": "Breed better solutions for a task (admin).",
        "security_test": "Non-destructive reachability checks of allowed hosts (dangerous).",
        "chat": "Greetings, help and small talk.",
        "system_info": "Time, date, version, Docker, network, voice and plugin status.",
        "calculate": "Arithmetic.",
        "run_code": 'Run your own Python code (a fenced block, or "run this: ...") in the sandbox.',
    }
)
