"""Evaluation reports: JSON, a markdown table, and a PNG of the scaling curves.

    from trl_rrm.evaluation import evaluate_pairwise, write_report
    result = evaluate_pairwise(judge, "builtin:pairs", votes_curve=[1, 3], budget_curve=[32, 64])
    paths = write_report(result, "eval-out")   # report.json, report.md, curves.png

matplotlib is imported only to draw the curves (``pip install "trl-rrm[eval]"``).
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..files import check_writable, write_atomically

logger = logging.getLogger(__name__)

__all__ = [
    "EvaluationResult", "ReportExistsError", "format_judge", "format_value", "markdown_table", "plot_curves",
    "prepare_report_dir", "write_report",
]  # fmt: skip

REPORT_FILES = ("report.json", "report.md", "curves.png")


class ReportExistsError(ValueError):
    """The report folder already holds a report (and ``overwrite`` was not given), or cannot be written."""

# The curve metrics drawn, with their legend names.
CURVE_LINES = (
    ("accuracy", "accuracy"), ("both_order_accuracy", "both-order accuracy"), ("failure_rate", "failure rate")
)
CURVE_TITLES = {"num_votes": "voting@K (num_votes)", "max_new_tokens": "thinking budget (max_new_tokens)"}


class EvaluationResult(Protocol):
    """What the evaluators return: ``to_dict()``, ``to_markdown()`` and ``curves``."""

    curves: dict[str, list[dict[str, Any]]]

    def to_dict(self) -> dict[str, Any]: ...

    def to_markdown(self) -> str: ...


def format_value(value: Any) -> str:
    """A cell: rates and scores with 3 decimals, None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def format_judge(judge: Mapping[str, Any]) -> str:
    """``HFJudge (model=..., verdict=direct, ...)`` from ``judges.describe.summary``'s dict."""
    settings = ", ".join(f"{k}={v}" for k, v in judge.items() if k != "type" and v is not None)
    return f"{judge.get('type', 'judge')}" + (f" ({settings})" if settings else "")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; cells through ``format_value``."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(format_value(cell).replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines)


def require_matplotlib() -> Any:
    """matplotlib.pyplot on the file-only Agg backend, or an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'trl-rrm[eval]'") from None
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_curves(curves: Mapping[str, Sequence[Mapping[str, Any]]], path: str | Path, title: str | None = None) -> Path:
    """Draws one panel per curve (accuracy, both-order accuracy, failure rate vs the knob).

    Args:
        curves: ``{"num_votes": [{"value": 1, "accuracy": 0.6, ...}, ...], "max_new_tokens": [...]}``.
        path: the PNG to write.
        title: figure title.

    Raises:
        ValueError: no curve has a point.
        ImportError: matplotlib is not installed.
    """
    panels = [(name, points) for name, points in curves.items() if points]
    if not panels:
        raise ValueError("no curve to plot: every curve is empty")
    plt = require_matplotlib()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    for ax, (name, points) in zip(axes[0], panels):
        xs = [p["value"] for p in points]
        for key, label in CURVE_LINES:
            ys = [p.get(key) for p in points]
            if all(y is None for y in ys):
                continue
            ax.plot(xs, [math.nan if y is None else y for y in ys], marker="o", label=label)
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(name)
        ax.set_title(CURVE_TITLES.get(name, name))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    write_atomically(path, buffer.getvalue())
    return path


def prepare_report_dir(output_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Checks the report folder BEFORE any judging: it can be written, and it holds no
    report unless ``overwrite``.

    Raises:
        ReportExistsError: a report is there (without ``overwrite``), or the folder cannot
            be created or written (the message names it).
    """
    out = Path(output_dir)
    existing = [name for name in REPORT_FILES if (out / name).exists()]
    if existing and not overwrite:
        raise ReportExistsError(f"{out} already holds {', '.join(existing)}; use --overwrite to replace it (or another --output)")
    try:
        check_writable(out)
    except OSError as err:
        raise ReportExistsError(f"--output {str(out)!r} cannot be written: {err}") from None
    return out


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has no such
    numbers: ``json.dumps`` would write ``NaN``, which JSON readers reject)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def write_report(result: EvaluationResult, output_dir: str | Path, *, plot: bool = True) -> dict[str, Path]:
    """Writes ``report.json`` and ``report.md`` to ``output_dir``, and ``curves.png`` when
    the result has curve points and ``plot`` is set.

    Returns:
        The written files by kind (``"json"``, ``"markdown"``, ``"plot"``).

    Raises:
        ImportError: curves to plot but no matplotlib (checked before anything is written).
    """
    has_curves = any(getattr(result, "curves", {}).values())
    if plot and has_curves:
        require_matplotlib()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "markdown": out / "report.md"}
    report = json.dumps(finite(result.to_dict()), indent=2, ensure_ascii=False, allow_nan=False)
    write_atomically(paths["json"], [report + "\n"])
    write_atomically(paths["markdown"], [result.to_markdown() + "\n"])
    if plot and has_curves:
        paths["plot"] = plot_curves(result.curves, out / "curves.png", title=getattr(result, "title", None))
    else:
        (out / "curves.png").unlink(missing_ok=True)  # a previous report's: this one has none
    logger.info("report written to %s", out)
    return paths
