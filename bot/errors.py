"""Expected refusals a member should see, as opposed to crashes only the log sees."""

from __future__ import annotations

from typing import Any


class HandlerError(Exception):
    """A business refusal (session full, already registered): rendered from a template."""

    def __init__(self, template: str, **context: Any) -> None:
        super().__init__(template)
        self.template = template
        self.context = context


class Invalid(Exception):
    """A slot value was not accepted; the template says why, and the form asks again."""

    def __init__(self, template: str, **context: Any) -> None:
        super().__init__(template)
        self.template = template
        self.context = context


class FormEnded(Exception):
    """A validator (or a submit action) closes the form in progress with this reply.

    For answers that make going on pointless: "already submitted", "not eligible", a consent
    refused. The form's state is cleared and nothing is submitted; ``Invalid`` instead asks
    again.
    """

    def __init__(self, template: str, **context: Any) -> None:
        super().__init__(template)
        self.template = template
        self.context = context
