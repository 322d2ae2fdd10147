"""A deployed function's execution role: its policy documents and its credentials.

:func:`assume_role` calls ``sts:AssumeRole`` on the endpoint for the role's ARN (as
Lambda does for every execution environment) and reads the role's identity
policies from IAM: its inline policies (``GetRolePolicy``) and the default version
of every attached managed policy (``GetPolicyVersion``).

Example::

    role = assume_role(clients, "arn:aws:iam::123456789012:role/streamkit-iot", "iot")
    role.environment()      # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import orjson

from streamkit.local.iam.proxy import AssumedRole

__all__ = ["assume_role", "role_policies"]


def _document(doc: Any) -> dict[str, Any]:
    if isinstance(doc, dict):
        return doc
    text = str(doc)
    try:
        parsed: dict[str, Any] = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = orjson.loads(unquote(text))  # IAM returns URL-encoded JSON
    return parsed


def role_policies(iam: Any, role_name: str) -> tuple[dict[str, Any], ...]:
    """Every identity policy document of ``role_name`` (inline, then attached)."""
    documents = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        documents.append(_document(doc))
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]
        documents.append(_document(version["Document"]))
    return tuple(documents)


def assume_role(clients: Any, role_arn: str, session_name: str) -> AssumedRole:
    """Credentials of a session of ``role_arn``, with the role's policy documents."""
    answer = clients("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)
    credentials = answer["Credentials"]
    return AssumedRole(
        role_arn=role_arn,
        session_arn=answer["AssumedRoleUser"]["Arn"],
        access_key_id=credentials["AccessKeyId"],
        secret_access_key=credentials["SecretAccessKey"],
        session_token=credentials["SessionToken"],
        policies=role_policies(clients("iam"), role_arn.rsplit("/", 1)[-1]),
    )
