"""The connection probe's decision, on a clock and a CPU of its own."""

from __future__ import annotations

import pytest

from llmctl.hub.connection_probe import BUSY, FEW, WINDOW, ConnectionProbe, cpu_times


class _Cpu:
    """CPU ticks that grow at `busy` of `per_second` while the fake clock runs."""

    def __init__(self, busy: float, per_second: int = 100_000):
        self.busy, self.per_second, self.now = busy, per_second, 0.0

    def __call__(self):
        total = int(self.now * self.per_second)
        return int(total * self.busy), total


def _drive(probe: ConnectionProbe, cpu: _Cpu, first_byte: float = 0.1, tick: float = 0.02) -> list[int]:
    """Looks every `tick` for 2 s, bytes flowing from `first_byte`; `allowed` after each."""
    seen = []
    while cpu.now < 2.0:
        probe.observe(cpu.now, 0 if cpu.now < first_byte else int(cpu.now * 1e8))
        seen.append(probe.allowed)
        cpu.now += tick
    return seen


def test_an_idle_cpu_opens_every_connection_after_one_window():
    cpu = _Cpu(busy=0.1)
    probe = ConnectionProbe(8, cpu=cpu)
    seen = _drive(probe, cpu)
    opened = seen.index(8) * 0.02
    assert seen[0] == FEW and seen[-1] == 8 and probe.decided and probe.verdict is None
    assert not probe.looking
    assert opened == pytest.approx(0.1 + WINDOW, abs=0.03), "the window starts with the first byte"


@pytest.mark.parametrize("busy", [BUSY + 0.01, 0.97, 1.0])
def test_a_busy_cpu_stays_with_the_few_and_says_so(busy):
    cpu = _Cpu(busy)
    probe = ConnectionProbe(8, cpu=cpu)
    assert set(_drive(probe, cpu)) == {FEW} and probe.decided
    assert f"{busy:.0%} busy with {FEW} connections" in probe.verdict and probe.verdict.endswith(f"staying at {FEW}")


def test_the_window_is_open_from_the_first_byte_to_the_decision():
    cpu = _Cpu(busy=0.1)
    probe = ConnectionProbe(8, cpu=cpu)
    probe.observe(0.0, 0)
    assert not probe.looking, "no bytes yet: nothing to look at"
    probe.observe(0.1, 1)
    assert probe.looking
    cpu.now = 0.1 + WINDOW + 0.01
    probe.observe(cpu.now, 2)
    assert not probe.looking and probe.allowed == 8


def test_without_proc_stat_every_connection_opens_at_the_first_byte():
    cpu = _Cpu(0.0)
    probe = ConnectionProbe(8, cpu=lambda: None)
    seen = _drive(probe, cpu)
    assert seen[: seen.index(8)] == [FEW] * 5 and seen[-1] == 8  # 0.1 s without bytes, then open


def test_nothing_is_probed_when_the_user_chose_or_when_there_is_nothing_to_try():
    for probe in (ConnectionProbe(8, probing=False), ConnectionProbe(2), ConnectionProbe(1)):
        assert probe.decided and probe.allowed == probe.limit
        probe.observe(1.0, 10)
        assert probe.allowed == probe.limit and probe.verdict is None


def test_the_machines_cpu_ticks_are_read_and_grow():
    first = cpu_times()  # the hosts this project serves run Linux
    assert first is not None
    sum(range(2_000_000))  # some CPU time
    second = cpu_times()
    assert 0 <= first[0] <= first[1] and second[1] >= first[1] and second[0] >= first[0]
