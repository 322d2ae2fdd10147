"""``streamkit recover``: what Lambda discarded under finite retries, brought back exactly once.

* :mod:`~streamkit.local.recover.consumer`: a consumer's config, its own pipeline, clients;
* :mod:`~streamkit.local.recover.failures`: the on-failure destination read back;
* :mod:`~streamkit.local.recover.stream`: a discarded range re-read from its stream;
* :mod:`~streamkit.local.recover.engine`: :func:`recover` and its summary.
"""
