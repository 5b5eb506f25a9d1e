"""Tables and charts for compare-models: one data structure, written as markdown and as a
self-contained HTML page (inline SVG charts, no script and no network needed to view it)."""

from __future__ import annotations

import html
from dataclasses import dataclass

# Colour per run, cycled; colour-blind-safe (Okabe-Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    bold_rows: frozenset[int] = frozenset()  # rows whose values differ between models
    red_cells: frozenset[tuple[int, int]] = frozenset()  # (row, column) of regressions


def to_markdown(table: Table) -> str:
    lines = [f"## {table.title}", "", "| " + " | ".join(table.columns) + " |",
             "|---" * len(table.columns) + "|"]
    for i, row in enumerate(table.rows):
        cells = [f"**{c}**" if i in table.bold_rows else f"▼ {c}" if (i, j) in table.red_cells else c
                 for j, c in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for i, row in enumerate(table.rows):
        cells = "".join(f'<td class="regression">{html.escape(c)}</td>' if (i, j) in table.red_cells
                        else f"<td>{html.escape(c)}</td>" for j, c in enumerate(row))
        body.append(f'<tr class="differs">{cells}</tr>' if i in table.bold_rows else f"<tr>{cells}</tr>")
    return (f"<h2>{html.escape(table.title)}</h2>\n<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def svg_grouped_bars(title: str, groups: list[str], series: dict[str, list[float | None]],
                     x_max: float | None = None) -> str:
    """Horizontal bars from zero: one group per label, one bar per series in each group.
    A missing value (None) is drawn as an empty slot labelled n/a."""
    bar, gap, label_w, plot_w = 12, 10, 220, 420
    top = 30 + 18 * ((len(series) + 2) // 3)
    height = top + len(groups) * (bar * len(series) + gap) + 30
    x_max = x_max or max([v for vs in series.values() for v in vs if v is not None] + [1e-9])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 60}" '
             f'height="{height}" font-family="sans-serif" font-size="12">',
             f'<text x="4" y="16" font-size="14" font-weight="bold">{html.escape(title)}</text>']
    parts += _legend(list(series), 4, 30)
    for tick in range(5):
        x = label_w + plot_w * tick / 4
        parts.append(f'<line x1="{x}" y1="{top - 4}" x2="{x}" y2="{height - 26}" stroke="#ddd"/>'
                     f'<text x="{x}" y="{height - 12}" text-anchor="middle">'
                     f'{x_max * tick / 4:.3g}</text>')
    y = top
    for g, group in enumerate(groups):
        parts.append(f'<text x="{label_w - 6}" y="{y + bar * len(series) / 2 + 4}" '
                     f'text-anchor="end">{html.escape(group)}</text>')
        for s, (name, values) in enumerate(series.items()):
            value = values[g]
            if value is None:
                parts.append(f'<text x="{label_w + 4}" y="{y + bar - 2}" fill="#888">n/a</text>')
            else:
                width = plot_w * value / x_max
                parts.append(f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="{bar - 2}" '
                             f'fill="{PALETTE[s % len(PALETTE)]}"><title>{html.escape(name)}: '
                             f'{value:.3f}</title></rect>'
                             f'<text x="{label_w + width + 4:.1f}" y="{y + bar - 2}">{value:.3g}</text>')
            y += bar
        y += gap
    return "\n".join(parts + ["</svg>"])


def svg_lines(title: str, curves: dict[str, list[tuple[float, float]]], x_label: str,
              y_label: str) -> str:
    """Line chart of several (x, y) curves on shared axes."""
    width, height, left, top, plot_w, plot_h = 700, 360, 60, 30, 600, 240
    legend_top = top + plot_h + 40
    points = [p for c in curves.values() for p in c] or [(0.0, 0.0)]
    x_max = max(x for x, _ in points) or 1.0
    y_max = max(y for _, y in points) or 1.0
    height = legend_top + 18 * ((len(curves) + 2) // 3) + 10

    def at(x: float, y: float) -> str:
        return f"{left + plot_w * x / x_max:.1f},{top + plot_h * (1 - y / y_max):.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="12">',
             f'<text x="4" y="16" font-size="14" font-weight="bold">{html.escape(title)}</text>',
             f'<text x="{left + plot_w / 2}" y="{top + plot_h + 32}" text-anchor="middle">'
             f'{html.escape(x_label)}</text>',
             f'<text x="12" y="{top + plot_h / 2}" transform="rotate(-90 12 {top + plot_h / 2})" '
             f'text-anchor="middle">{html.escape(y_label)}</text>']
    for tick in range(5):
        y = top + plot_h * tick / 4
        x = left + plot_w * tick / 4
        parts.append(f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y + 4}" text-anchor="end">'
                     f'{y_max * (1 - tick / 4):.3g}</text>'
                     f'<text x="{x}" y="{top + plot_h + 16}" text-anchor="middle">'
                     f'{x_max * tick / 4:.3g}</text>')
    # One colour per model ("<model> train" and "<model> eval" share it), eval dashed.
    models = list(dict.fromkeys(name.rsplit(" ", 1)[0] for name in curves))
    for name, curve in curves.items():
        colour = PALETTE[models.index(name.rsplit(" ", 1)[0]) % len(PALETTE)]
        dash = ' stroke-dasharray="6 3"' if name.endswith("eval") else ""
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"'
                     f'{dash} points="{" ".join(at(x, y) for x, y in curve)}"/>')
    parts += _legend(models, 4, legend_top)
    return "\n".join(parts + ["</svg>"])


def _legend(names: list[str], x: float, y: float) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        col, row = i % 3, i // 3
        left = x + col * 230
        parts.append(f'<rect x="{left}" y="{y + row * 18 - 9}" width="10" height="10" '
                     f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{left + 14}" y="{y + row * 18}">'
                     f'{html.escape(name)}</text>')
    return parts


def html_page(title: str, sections: list[str]) -> str:
    style = ("body{font-family:sans-serif;margin:2em;max-width:1100px}"
             "table{border-collapse:collapse;margin-bottom:1.5em}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}"
             "tr.differs td{font-weight:bold;background:#fff6d5}"
             "td.regression{color:#c00;font-weight:bold}"
             "p.verdict{font-size:17px;font-weight:bold;background:#eef6ff;padding:10px}"
             "pre{white-space:pre-wrap;background:#f6f6f6;padding:6px;font-size:12px}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{style}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>\n" + "\n".join(sections) + "\n</body></html>\n")
