"""The local stack under monitoring: node exporter (drm collector over a recorded amdgpu
sysfs tree), the local stack with its llama-servers on --metrics, `llmctl exporter`, and
Prometheus with the scrape jobs, rules and dashboard queries of `lib.monitoring`.

    with monitored_stack(work_dir) as monitored:
        monitored.stack.base_url          # the gateway, as in local_stack
        monitored.prometheus.query("up")  # testkit.prometheus.Prometheus
        monitored.generated["queries"]    # lib.monitoring's named expressions

Intervals are short (1 s scrapes and rule evaluations, 10 s rate windows) and every
alert's `for` is 0 s. Used by tests/nix/test_monitoring_live.py and the dashboard
preview (testkit.dashboard_preview).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit.local_stack import LocalStack, local_stack
from testkit.nixeval import nix_eval
from testkit.processes import free_port
from testkit.prometheus import Prometheus, start_llmctl_exporter, start_node_exporter, start_prometheus

RECORDED_SYSFS = Path(__file__).resolve().parents[2] / "python/llmctl/tests/data/gpu/strix-halo"
ALERT_FORS = (
    "targetDown",
    "backendDown",
    "backendErrors",
    "routeUnavailable",
    "gpuMemoryHigh",
    "modelSwapping",
    "modelOnCpu",
)


@dataclass
class MonitoredStack:
    stack: LocalStack
    prometheus: Prometheus
    # lib.monitoring's output for the stack: config, rules, queries, dashboard.
    generated: dict[str, Any]

    def all_targets_up(self) -> bool:
        targets = self.prometheus.targets()
        return bool(targets) and all(target["health"] == "up" for target in targets)


def monitoring_section(exporter_port: int, node_exporter_port: int) -> dict[str, Any]:
    return {
        "scrapeInterval": "1s",
        "evaluationInterval": "1s",
        "rateWindow": "10s",
        "exporter": {"port": exporter_port},
        "nodeExporter": {"enable": True, "port": node_exporter_port},
        "alerts": {"for": dict.fromkeys(ALERT_FORS, "0s")},
    }


@contextmanager
def monitored_stack(work_dir: Path) -> Iterator[MonitoredStack]:
    """Everything started and every target scraped; stopped on exit."""
    with ExitStack() as cleanup:
        node = start_node_exporter(RECORDED_SYSFS, work_dir)
        cleanup.callback(node.stop)
        exporter_port = free_port()
        monitoring = monitoring_section(exporter_port, node.info["port"])
        stack = cleanup.enter_context(local_stack(work_dir=work_dir / "stack", monitoring=monitoring))
        exporter = start_llmctl_exporter(stack.stack_file, work_dir, port=exporter_port)
        cleanup.callback(exporter.stop)
        generated = nix_eval(
            "{ config = lib.monitoring.prometheusConfig { inherit spec; }; rules = lib.monitoring.rules spec;"
            " queries = lib.monitoring.queries spec; dashboard = lib.monitoring.grafanaDashboard spec; }",
            spec=stack.spec,
        )
        prometheus = start_prometheus(generated["config"], generated["rules"], work_dir / "prometheus")
        cleanup.callback(prometheus.stop)
        monitored = MonitoredStack(stack, prometheus, generated)
        prometheus.wait_for("every target scraped and up", monitored.all_targets_up)
        yield monitored
