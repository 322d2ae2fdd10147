"""IAM identity-policy evaluation for one call: Allow, explicit Deny, implicit deny.

moto's IAM enforcement (``INITIAL_NO_AUTH_ACTION_COUNT``) matches a request's action
against the caller's policies, but it sees a resource only for S3, SQS, IAM and STS
(every other service's request is resource ``*``, which no statement naming an ARN
matches), it evaluates no condition keys of the request, and it authorises
``TransactWriteItems`` as an action of its own. A least-privilege role, exact ARNs and
``dynamodb:LeadingKeys`` included, is therefore evaluated here instead, by AWS's
rules for identity policies
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

* a statement applies when its ``Action`` (or ``NotAction``) matches the action (case
  insensitive, ``*`` and ``?`` wildcards), its ``Resource`` (or ``NotResource``)
  matches the resource ARN (case sensitive) and every condition holds;
* an applying ``Deny`` wins; else an applying ``Allow`` allows; else the call is
  implicitly denied.

Conditions: the ``String*`` and ``Arn*`` operators and ``Bool``, with the
``ForAllValues:`` / ``ForAnyValue:`` set qualifiers and the ``...IfExists`` suffix. A
key absent from the call makes a condition false (true for negated operators, for
``IfExists`` and, vacuously, for ``ForAllValues``). An operator not listed raises
:class:`UnsupportedCondition`: an element this evaluator cannot decide is never
silently allowed.

Example::

    doc = {"Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                          "Resource": "arn:aws:dynamodb:us-east-1:1:table/ledger",
                          "Condition": {"ForAllValues:StringLike":
                                        {"dynamodb:LeadingKeys": ["iot#*"]}}}]}
    call = Call("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/ledger",
                {"dynamodb:LeadingKeys": ("iot#shard-0",)})
    evaluate([doc], call).allowed      # True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from streamkit.errors import StreamkitError

__all__ = ["Call", "Decision", "Evaluation", "UnsupportedCondition", "evaluate"]

Decision = Literal["allow", "deny", "implicit_deny"]


class UnsupportedCondition(StreamkitError):
    """A policy uses a condition operator this evaluator does not implement."""


@dataclass(frozen=True, slots=True)
class Call:
    """One authorisation request: an IAM action on a resource, with context keys."""

    #: ``service:Action``, e.g. ``dynamodb:PutItem``.
    action: str
    #: The resource ARN (``*`` for actions without a resource type).
    resource: str
    #: Condition keys of the request (e.g. ``dynamodb:LeadingKeys``) -> their values.
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The decision for one call and the statement that made it (its Sid or index)."""

    call: Call
    decision: Decision
    statement: str | None = None

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"


@lru_cache(maxsize=4096)
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    # IAM wildcards: * any run of characters, ? exactly one; nothing else is special.
    regex = "".join(
        ".*" if part == "*" else "." if part == "?" else re.escape(part)
        for part in re.split(r"([*?])", text)
    )
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _pattern(pattern, ignore_case).fullmatch(value) is not None


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda want, have: want == have,
    "StringEqualsIgnoreCase": lambda want, have: want.lower() == have.lower(),
    "StringLike": lambda want, have: _like(want, have),
    "ArnEquals": lambda want, have: want == have,
    "ArnLike": lambda want, have: _like(want, have),
    "Bool": lambda want, have: want.lower() == have.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, wanted: list[str], call: Call) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    negated = op in _NEGATED
    base = _NEGATED.get(op, op)
    test = _OPERATORS.get(base)
    if test is None or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedCondition(
            f"condition operator {operator!r} (on {key}) is not evaluated locally; "
            f"supported: {', '.join(sorted([*_OPERATORS, *_NEGATED]))}, with ForAllValues:/"
            "ForAnyValue: and IfExists"
        )
    values = call.context.get(key)
    if values is None:
        return if_exists or negated or qualifier == "ForAllValues"

    def matches(value: str) -> bool:
        return any(test(w, value) for w in wanted)

    if qualifier == "ForAllValues":
        hit = all(matches(v) for v in values)
    else:  # ForAnyValue, or a single-valued key: one value matches
        hit = any(matches(v) for v in values)
    return not hit if negated else hit


def _applies(statement: Mapping[str, Any], call: Call) -> bool:
    if "NotAction" in statement:
        if any(_like(a, call.action, ignore_case=True) for a in _listed(statement["NotAction"])):
            return False
    elif not any(_like(a, call.action, ignore_case=True) for a in _listed(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        if any(_like(r, call.resource) for r in _listed(statement["NotResource"])):
            return False
    elif not any(_like(r, call.resource) for r in _listed(statement.get("Resource"))):
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, wanted in keys.items():
            if not _condition_holds(operator, key, _listed(wanted), call):
                return False
    return True


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def evaluate(documents: Sequence[Mapping[str, Any]], call: Call) -> Evaluation:
    """The decision of the identity policies ``documents`` for ``call``."""
    allowed_by: str | None = None
    for d, document in enumerate(documents):
        for s, statement in enumerate(_statements(document)):
            if not _applies(statement, call):
                continue
            name = str(statement.get("Sid") or f"policy {d} statement {s}")
            if statement.get("Effect") == "Deny":
                return Evaluation(call, "deny", name)
            if statement.get("Effect") == "Allow" and allowed_by is None:
                allowed_by = name
    if allowed_by is not None:
        return Evaluation(call, "allow", allowed_by)
    return Evaluation(call, "implicit_deny")
