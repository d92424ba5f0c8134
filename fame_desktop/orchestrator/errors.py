"""Domain errors. Each carries the public error ``code`` of the query response and a fix."""

from __future__ import annotations


class FameError(Exception):
    """An error a person can act on.

    Args:
        message: What happened, in plain words.
        fix: How to fix it (shown after the message).
    """

    code = "error"

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def to_dict(self) -> dict[str, str]:
        """The ``error`` object of the query response."""
        text = f"{self.message} {self.fix}".strip()
        return {"code": self.code, "message": text}


class InvalidRequest(FameError):
    code = "invalid_request"


class NetworkDisabled(FameError):
    code = "network_disabled"

    def __init__(self, what: str = "This request") -> None:
        super().__init__(
            f"{what} needs the network, which is off.",
            "An admin can enable it in Settings (Network) or with `fame admin network on --admin-key KEY`.",
        )


class AdminRequired(FameError):
    code = "admin_required"

    def __init__(self, what: str = "This operation") -> None:
        super().__init__(
            f"{what} needs an admin key.",
            "Unlock admin in Settings, or pass --admin-key / set FAME_ADMIN_KEY. "
            "Create the first key in the window (Help → First-run assistant, or Settings → Admin keys) "
            "or with `fame setup` / `fame admin init`.",
        )


class AdminLocked(AdminRequired):
    def __init__(self, seconds: float) -> None:
        FameError.__init__(
            self,
            "Too many failed admin key attempts.",
            f"Admin is locked for {seconds:.0f} more seconds.",
        )


class CapabilityDisabled(FameError):
    code = "capability_disabled"

    def __init__(self, capability: str) -> None:
        super().__init__(
            f"The '{capability}' capability is disabled (it is dangerous).",
            f"An admin can enable it in Settings or with "
            f"`fame admin set capabilities.{capability} true --admin-key KEY`.",
        )


class PluginError(FameError):
    code = "plugin_error"


class PluginNotFound(PluginError):
    """No plugin of that name, or none loaded for the intent asked."""

    code = "plugin_not_found"


class PluginTimeout(FameError):
    code = "timeout"


class NotAvailable(FameError):
    code = "not_available"


class InvalidSetting(FameError):
    code = "invalid_request"

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"Setting '{path}': {problem}.", "")
        self.path = path
