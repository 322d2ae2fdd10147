"""Spec 4.11: the handler's metrics run on the invocation's clock, which the simulator
passes in the client context, in both execution modes (worker process under
awslambdaric, and inline)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.runtime.conftest import T0

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("execution", ["process", "inline"])
def test_4_11_handler_iterator_age_is_on_the_simulators_virtual_clock(
    runtime_env: Any, execution: str
) -> None:
    """The records arrived at T0 (virtual, 2023) and the mapping invokes on a virtual clock
    starting at T0: the handler's IteratorAge is the virtual age (well under an hour),
    not the age against the wall clock (years), and its EMF timestamp is on that clock."""
    runtime_env.put("a", "b")
    esm = runtime_env.esm("clocked", execution=execution, batch_size=2)
    stats = esm.run()
    assert stats.records_processed == 2
    (line,) = runtime_env.lines()
    assert line["wall"] - T0 > 86_400  # the wall clock is far from the virtual one
    assert T0 <= line["clock"] < T0 + 3_600
    assert 0 <= line["iterator_age_ms"] < 3_600_000
    assert T0 * 1000 <= line["emf_timestamp_ms"] < (T0 + 3_600) * 1000
