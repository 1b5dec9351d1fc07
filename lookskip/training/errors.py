"""Training's one error type, below every training module that raises it."""


class LabelError(ValueError):
    """A labels file that cannot be used; the message names the file and line."""
