"""The library's one error type. Front ends turn it into a message and an exit code or status."""


class KGError(Exception):
    """A problem the user can act on: ``message`` says what is wrong, ``hint`` what to do next."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f"\n  hint: {self.hint}" if self.hint else "")
