"""Helpers shared by the built-in plugins (not plugins themselves: the loader skips ``_`` names)."""
