"""Least privilege, exercised locally: a deployed function held to its execution role.

Local tooling only. :mod:`~streamkit.local.iam.policy` evaluates identity policies
(what moto's own IAM enforcement leaves out: exact ARNs for every service, condition
keys such as ``dynamodb:LeadingKeys``); :mod:`~streamkit.local.iam.calls` turns an AWS
request into the IAM calls AWS authorises it as; :mod:`~streamkit.local.iam.proxy` is
the endpoint a function talks to, which refuses what its role does not allow;
:mod:`~streamkit.local.iam.roles` assumes the role and reads its policies from IAM.
``streamkit run --terraform`` uses them (docs/deploy.md, "IAM: least privilege,
exercised").
"""
