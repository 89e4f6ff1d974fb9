"""Errors raised by pufferlib.

``APIUsageError`` is raised for every misuse of the public API: a badly defined
environment, wrong action shape/dtype/range, calls in the wrong order, invalid
configuration, out-of-range env ids. It subclasses ``ValueError`` so generic
handlers still catch it.
"""


class APIUsageError(ValueError):
    """The caller used the pufferlib API in a way it does not allow.

    The message always says what was wrong and what is allowed.
    """


class EnvironmentSetupError(RuntimeError):
    """An environment could not be created (missing optional dependency, unknown name)."""


class WorkerError(RuntimeError):
    """A vectorization worker process died or raised; the vectorized env is unusable."""
