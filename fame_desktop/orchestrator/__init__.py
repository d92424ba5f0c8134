"""The domain layer of FAME Desktop: Brain, routing, plugins, safety, audit, sandbox.

Nothing in this package imports Qt; the window observes it through the event bus.
"""
