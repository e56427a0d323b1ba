"""pandas views of riskengine's inputs and results (the optional extra ``riskengine[pandas]``).

The core never imports pandas: each ``to_frame()`` / ``from_frame()`` imports it when called, and
without it says how to install it. The frames hold the same numbers as the objects' ``to_dict()``
(no rounding, no conversion beyond the container).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

PANDAS_HINT = "pandas is not installed: pip install 'riskengine[pandas]'"
PARQUET_HINT = "reading Parquet needs pyarrow: pip install 'riskengine[parquet]'"


def pandas() -> Any:
    """The pandas module, or ImportError with the install hint."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(PANDAS_HINT) from None
    return pd


def rows_frame(rows: Sequence[dict], index: str | list[str] | None = None, columns=None):
    """A DataFrame of ``rows`` (dicts with the same keys), indexed by ``index`` when given."""
    pd = pandas()
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    if index is not None and len(frame.columns):
        frame = frame.set_index(index)
    return frame


def html_table(rows: Sequence[dict], caption: str = "", limit: int = 50) -> str:
    """A plain HTML table of ``rows`` (the notebook view when pandas is not installed)."""
    rows = list(rows)
    head = list(rows[0]) if rows else []
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in head) + "</tr>")
    for r in rows[:limit]:
        out.append("<tr>" + "".join(f"<td>{_cell(r[h])}</td>" for h in head) + "</tr>")
    if len(rows) > limit:
        out.append(f"<tr><td colspan={len(head)}>… {len(rows) - limit} more rows</td></tr>")
    out.append("</table>")
    return "".join(out)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e-3 or abs(value) >= 1e9 else f"{value:,.2f}"
    return html.escape(str(value))


def notebook_html(title: str, tables: Sequence[tuple[str, Sequence[dict]]]) -> str:
    """A result's notebook view: a title line and its tables (``(caption, rows)``), through
    pandas' own HTML when it is installed."""
    parts = [f"<div class='riskengine'><p><strong>{html.escape(title)}</strong></p>"]
    try:
        pd = pandas()
    except ImportError:
        pd = None
    for caption, rows in tables:
        if not rows:
            continue
        if pd is not None:
            parts.append(f"<p>{html.escape(caption)}</p>")
            parts.append(pd.DataFrame.from_records(list(rows)).to_html(index=False, max_rows=50))
        else:
            parts.append(html_table(rows, caption))
    parts.append("</div>")
    return "".join(parts)
