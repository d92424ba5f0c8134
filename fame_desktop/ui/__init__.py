"""The desktop window (PySide6 + qasync): widgets that observe the event bus and call the Brain."""
