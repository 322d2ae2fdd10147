"""``streamkit intents``: a consumer's pending intents, inspected and resolved on purpose.

A pending intent is a batch whose writes are decided and durable in the ledger but not
yet (all) applied: normally the shard's next invocation rolls it forward within
seconds. One that stays pending (a table deleted, permissions changed) blocks its
shard, with an ERROR log line and a ``PendingIntentBlocked`` metric per invocation.
:mod:`~streamkit.local.intents.store` lists them, :mod:`~streamkit.local.intents.resolve`
settles one: roll it forward now, or dead-letter its records and commit past it.
"""
