"""The exception tree (issue 9): every exception class streamkit defines is a
StreamkitError, and errors.py's docstring shows each of them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import streamkit
import streamkit.errors
from streamkit.errors import StreamkitError

#: Deliberately outside the tree, as BaseExceptions no ``except Exception`` can swallow:
#: a simulated crash (passes like a killed process), the in-process function timeout,
#: and an expression the in-memory DynamoDB cannot evaluate (must stop the test).
OUTSIDE = {
    "streamkit.local.faults.SimulatedCrash",
    "streamkit.local.runtime.inline.InvocationTimeout",
    "streamkit.testing.memory.dynamodb.UnsupportedExpression",
}


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(streamkit.__path__, "streamkit."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and not name.startswith("_")  # private signals between two functions
            ):
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_every_streamkit_exception_is_a_streamkit_error() -> None:
    classes = _exception_classes()
    assert "streamkit.ledger.LedgerConflict" in classes
    outside = {name for name, cls in classes.items() if not issubclass(cls, StreamkitError)}
    assert outside == OUTSIDE


def test_the_errors_docstring_shows_the_whole_tree() -> None:
    doc = streamkit.errors.__doc__ or ""
    missing = {
        name
        for name, cls in _exception_classes().items()
        if issubclass(cls, StreamkitError)
        and cls is not StreamkitError
        and f"-- {cls.__name__} " not in doc
    }
    assert missing == set()
