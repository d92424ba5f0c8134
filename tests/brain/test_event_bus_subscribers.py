"""Which subscribers an event reaches: by class (base classes too), in subscription order, and
subscriptions made or cancelled between events count from the next event on."""

from __future__ import annotations

from fame_desktop.orchestrator.events import Event, EventBus, QueryReceived, QueryRouted


def _received(n: int) -> QueryReceived:
    return QueryReceived(query_id=f"q{n}", text="2+2", source="test")


def test_subscribers_follow_subscriptions_made_and_cancelled_between_events() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(QueryReceived, lambda e: seen.append(f"a:{e.query_id}"))
    bus.publish(_received(1))
    late = bus.subscribe(QueryReceived, lambda e: seen.append(f"b:{e.query_id}"))
    every = bus.subscribe(Event, lambda e: seen.append(f"any:{type(e).__name__}"))
    bus.publish(_received(2))
    bus.publish(QueryRouted(query_id="q2", intent="calculate", confidence=1.0, plugins=("calculator",)))
    late.cancel()
    bus.publish(_received(3))
    every.cancel()
    bus.publish(_received(4))
    assert seen == [
        "a:q1",
        "a:q2",
        "b:q2",
        "any:QueryReceived",
        "any:QueryRouted",
        "a:q3",
        "any:QueryReceived",
        "a:q4",
    ]
