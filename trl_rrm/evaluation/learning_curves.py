"""A policy's learning curves as a PNG: one colour per training arm, a thin line per seed,
the mean over seeds in bold with the seeds' range as a band, and an optional baseline.

    series = {"ground truth": [[(0, 0.36), (5, 0.47), (10, 0.53)], ...],    # one list per seed
              "RRMReward (no labels)": [[(0, 0.36), (5, 0.38), (10, 0.45)], ...]}
    plot_learning_curves(series, "curves.png", baseline=0.36, ylabel="held-out satisfaction")

matplotlib is imported only here (``pip install "trl-rrm[eval]"``).
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..files import write_atomically
from .report import require_matplotlib

Curve = Sequence[tuple[float, float]]


def mean_curve(curves: Sequence[Curve]) -> list[tuple[float, float, float, float]]:
    """``(step, mean, low, high)`` at every step all ``curves`` share, in step order."""
    by_step = [dict(curve) for curve in curves]
    shared = sorted(set.intersection(*(set(c) for c in by_step))) if by_step else []
    return [(s, statistics.fmean(c[s] for c in by_step), min(c[s] for c in by_step), max(c[s] for c in by_step))
            for s in shared]  # fmt: skip


def plot_learning_curves(
    series: Mapping[str, Sequence[Curve]],
    path: str | Path,
    *,
    baseline: float | None = None,
    baseline_label: str = "untrained",
    xlabel: str = "training step",
    ylabel: str = "score",
    title: str | None = None,
) -> Path:
    """Writes the PNG (atomically) and returns its path.

    Args:
        series: per arm, one curve per seed: ``(step, value)`` points.
        path: the PNG to write.
        baseline: a dashed horizontal line (the untrained policy), or None.

    Raises:
        ValueError: no arm has a point.
        ImportError: matplotlib is not installed.
    """
    arms = [(name, [list(c) for c in curves if c]) for name, curves in series.items()]
    arms = [(name, curves) for name, curves in arms if curves]
    if not arms:
        raise ValueError("no learning curve to plot: every arm is empty")
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(6, 4))
    for index, (name, curves) in enumerate(arms):
        colour = f"C{index}"
        for curve in curves:
            ax.plot([s for s, _ in curve], [v for _, v in curve], color=colour, alpha=0.35, linewidth=1)
        mean = mean_curve(curves)
        if mean:
            steps = [m[0] for m in mean]
            ax.plot(steps, [m[1] for m in mean], color=colour, marker="o", linewidth=2.2,
                    label=f"{name} (mean of {len(curves)})" if len(curves) > 1 else name)  # fmt: skip
            if len(curves) > 1:
                ax.fill_between(steps, [m[2] for m in mean], [m[3] for m in mean], color=colour, alpha=0.15)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle="--", linewidth=1, label=baseline_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    path = Path(path)
    write_atomically(path, buffer.getvalue())
    return path
