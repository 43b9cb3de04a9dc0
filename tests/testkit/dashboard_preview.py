"""A preview of the Grafana dashboard without Grafana (no package registry here has it):
the dashboard JSON's panels laid out on its 24-column grid, each target's expression
asked from Prometheus as a range query and drawn as SVG lines (time series) or its
latest values (stat, gauge). Headless Chromium (Debian's) turns the page into a PNG.

    cd tests && python -m testkit.dashboard_preview ../docs/images/monitoring-dashboard.png

runs the monitored local stack (testkit.monitored_stack), sends changing traffic for a
few minutes, and writes the screenshot; docs/monitoring.md shows it. It is a preview of
what the panels query, not Grafana's rendering.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from testkit.prometheus import Prometheus
from testkit.tools import ToolMissing, chromium_bin

WIDTH, ROW, GAP = 1500, 26, 8  # page width, one grid row and the gap between rows, in px
COLOURS = ("#73bf69", "#f2cc0c", "#5794f2", "#ff780a", "#b877d9", "#f2495c", "#8ab8ff", "#fade2a")
UNITS = {"bytes": (1 << 30, "GiB"), "percentunit": (0.01, "%"), "ms": (1, "ms"), "reqps": (1, "req/s")}


def legend(template: str, labels: dict[str, str]) -> str:
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()
    return text or ", ".join(f"{k}={v}" for k, v in labels.items() if k not in ("job", "instance")) or "value"


def fetch(prometheus: Prometheus, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
    data = prometheus.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step:g}")
    return data["result"]


def shown(value: float, unit: str) -> str:
    scale, suffix = UNITS.get(unit, (1, ""))
    scaled = value / scale
    number = f"{scaled:,.0f}" if abs(scaled) >= 1000 else f"{scaled:.3g}"
    return f"{number} {suffix}".strip()


def timeseries_svg(series: list[tuple[str, list[tuple[float, float]]]], width: int, height: int, unit: str) -> str:
    points = [p for _, values in series for p in values]
    if not points:
        return '<div class="empty">no data</div>'
    t0, t1 = min(t for t, _ in points), max(t for t, _ in points)
    top = max(v for _, v in points) or 1.0
    sx = (width - 60) / max(t1 - t0, 1)
    sy = (height - 20) / top
    lines = [f'<line x1="50" y1="{height - 10}" x2="{width}" y2="{height - 10}" class="axis"/>']
    lines.append(f'<text x="0" y="12" class="tick">{html.escape(shown(top, unit))}</text>')
    lines.append(f'<text x="0" y="{height - 12}" class="tick">0</text>')
    for index, (_, values) in enumerate(series):
        path = " ".join(f"{50 + (t - t0) * sx:.1f},{height - 10 - v * sy:.1f}" for t, v in values)
        colour = COLOURS[index % len(COLOURS)]
        lines.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
    return f'<svg width="{width}" height="{height}">{"".join(lines)}</svg>'


def stat_html(index: int, name: str, value: float, unit: str) -> str:
    colour = COLOURS[index % len(COLOURS)]
    text, label = html.escape(shown(value, unit)), html.escape(name)
    return f'<div class="stat" style="color:{colour}">{text}<span>{label}</span></div>'


def panel_html(panel: dict[str, Any], prometheus: Prometheus, start: float, end: float, step: float) -> str:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
    grid = panel["gridPos"]
    width = int(WIDTH * grid["w"] / 24) - 24
    height = grid["h"] * (ROW + GAP) - GAP - 60  # the panel less its title and legend
    series = []
    for target in panel["targets"]:
        for result in fetch(prometheus, target["expr"], start, end, step):
            values = [(float(t), float(v)) for t, v in result["values"] if v not in ("NaN", "+Inf", "-Inf")]
            series.append((legend(target.get("legendFormat", ""), result["metric"]), values))
    if panel["type"] == "timeseries":
        body = timeseries_svg(series, width, height, unit)
    else:
        body = "".join(stat_html(i, name, values[-1][1], unit) for i, (name, values) in enumerate(series) if values)
        body = body or '<div class="empty">no data</div>'
    keys = "".join(
        f'<span style="color:{COLOURS[i % len(COLOURS)]}">&#9632; {html.escape(name)}</span>'
        for i, (name, _) in enumerate(series)
    )
    style = f"grid-column:{grid['x'] + 1}/span {grid['w']};grid-row:{grid['y'] + 1}/span {grid['h']}"
    legend_row = keys if panel["type"] == "timeseries" else ""
    return (
        f'<section style="{style}"><h2>{html.escape(panel["title"])}</h2>{body}<div class="keys">{legend_row}</div>'
        "</section>"
    )


def render_html(dashboard: dict[str, Any], prometheus: Prometheus, start: float, end: float, step: float) -> str:
    panels = "".join(panel_html(panel, prometheus, start, end, step) for panel in dashboard["panels"])
    minutes = (end - start) / 60
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ background:#111217; color:#ccccdc; font:13px sans-serif; margin:12px; width:{WIDTH}px }}
h1 {{ font-size:18px; margin:0 0 10px }} h1 small {{ color:#8e8e9e; font-weight:normal }}
main {{ display:grid; grid-template-columns:repeat(24,1fr); grid-auto-rows:{ROW}px; gap:{GAP}px }}
section {{ background:#181b1f; border:1px solid #2c3235; border-radius:3px; padding:8px 10px; overflow:hidden }}
h2 {{ font-size:13px; margin:0 0 6px; color:#d8d9da }}
.keys span {{ margin-right:12px; font-size:11px }} .tick {{ fill:#8e8e9e; font-size:10px }}
.axis {{ stroke:#2c3235 }} .empty {{ color:#8e8e9e; padding:20px }}
.stat {{ display:inline-block; font-size:28px; margin:6px 18px 0 0 }}
.stat span {{ display:block; font-size:11px; color:#8e8e9e }}
</style></head><body><h1>{html.escape(dashboard["title"])} <small>last {minutes:.0f} minutes,
from Prometheus scraping the local stack; a preview of the provisioned Grafana dashboard</small></h1>
<main>{panels}</main></body></html>"""


def screenshot(page: Path, out: Path, height: int) -> None:
    """Headless Chromium's screenshot of `page` (the Debian package; root needs --no-sandbox)."""
    chromium = chromium_bin()
    argv = [
        chromium,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={WIDTH + 24},{height}",
        f"--screenshot={out}",
        page.as_uri(),
    ]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


def traffic(base_url: str, seconds: float) -> None:
    """Changing load: bursts of chat completions, embeddings and reranks."""
    from testkit.openai_client import chat, embed, rerank

    started = time.monotonic()
    round_ = 0
    while time.monotonic() - started < seconds:
        round_ += 1
        for _ in range(1 + round_ % 4):
            chat(base_url, "gpt-4o", f"tell me {round_}", max_tokens=24 + 8 * (round_ % 5))
        for _ in range(round_ % 3):
            embed(base_url, "text-embedding-3-small", f"text {round_}")
        if round_ % 2:
            rerank(base_url, "rerank-english-v3.0", "which", ["a", "b", "c"])
        time.sleep(1 + round_ % 3)


def main(out: Path, seconds: float = 180.0) -> None:
    from testkit.monitored_stack import monitored_stack

    with tempfile.TemporaryDirectory(prefix="local-llm-preview-") as tmp, monitored_stack(Path(tmp)) as monitored:
        start = time.time()
        traffic(monitored.stack.base_url, seconds)
        end = time.time()
        page = Path(tmp) / "dashboard.html"
        dashboard = monitored.generated["dashboard"]
        page.write_text(render_html(dashboard, monitored.prometheus, start, end, step=2))
        rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
        screenshot(page, out.resolve(), height=rows * (ROW + GAP) + 80)
    print(f"wrote {out}")


if __name__ == "__main__":
    try:
        main(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 180.0)
    except ToolMissing as error:  # one line, no traceback
        raise SystemExit(str(error)) from None
