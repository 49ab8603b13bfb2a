"""What the recipes write to ``results.json``, and what another program reads back, typed.

Each recipe writes its own dict, log and examples included (``write_results``: published
atomically, so a stage interrupted while writing never leaves a file that looks finished).
The part another program reads (``recipes/proof.py``, a user's notebook) is here:

    judge = JudgeResults.read("outputs/proof/judge_seed0")        # recipes/train_judge.py
    judge.metric("after", "test", "generate", "both_order_accuracy")
    grpo = PolicyResults.read("outputs/proof/grpo_rrm_seed0")      # grpo_rrm.py and dpo_rrm.py
    grpo.after.rate, grpo.curve, grpo.judge_share

``from_dict`` takes what any version of the recipes wrote: unknown keys are ignored and a
missing one reads as None, so a resumed proof reads the stages it finished before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.json"


def write_results(folder: str | os.PathLike, results: Mapping[str, Any]) -> Path:
    """``results`` as ``<folder>/results.json``, written beside it and renamed into place."""
    path = Path(folder) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{RESULTS_FILE}.partial")
    partial.write_text(json.dumps(results, indent=2, default=str))
    os.replace(partial, path)
    return path


def read_results(folder: str | os.PathLike) -> dict[str, Any]:
    """The dict a recipe wrote to ``<folder>/results.json``."""
    return json.loads((Path(folder) / RESULTS_FILE).read_text())


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Satisfaction:
    """A policy's held-out constraint satisfaction (``task.score``): the share of ``n``
    answers its checker accepts, and that share by constraint type."""

    rate: float
    n: int
    per_type: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> Satisfaction | None:
        if not isinstance(data, Mapping) or _number(data.get("rate")) is None:
            return None
        return cls(float(data["rate"]), int(data.get("n") or 0), dict(data.get("per_type") or {}))


@dataclass(frozen=True)
class PolicyResults:
    """A policy recipe's results (``grpo_rrm.py``, ``dpo_rrm.py``): the policy before and
    after training, GRPO's held-out curve (step, rate) and step timing, the judge's share of
    a step and its agreement with the checker (training groups; the trained policy's
    answers), DPO's labelled pairs."""

    before: Satisfaction | None = None
    after: Satisfaction | None = None
    curve: tuple[tuple[int, float], ...] = ()
    reward: str | None = None
    train_seconds: float | None = None
    step_seconds: float | None = None
    judge_share: float | None = None
    audit_agreement: float | None = None
    final_audit_agreement: float | None = None
    train_pairs: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyResults:
        audit = data.get("final_audit")
        pairs = data.get("train_pairs")
        curve = [p for p in data.get("curve") or () if _number(p.get("rate")) is not None]
        timing = ("train_seconds", "step_seconds", "judge_share", "audit_agreement")
        return cls(
            before=Satisfaction.from_dict(data.get("before")),
            after=Satisfaction.from_dict(data.get("after")),
            curve=tuple((int(p["step"]), float(p["rate"])) for p in curve),
            reward=data.get("reward"),
            **{key: _number(data.get(key)) for key in timing},
            final_audit_agreement=_number(audit.get("agreement")) if isinstance(audit, Mapping) else None,
            train_pairs=int(pairs) if _number(pairs) is not None else None,
        )  # fmt: skip

    @classmethod
    def read(cls, folder: str | os.PathLike) -> PolicyResults:
        return cls.from_dict(read_results(folder))


@dataclass(frozen=True)
class JudgeResults:
    """``train_judge.py``'s results: per ``"before"`` (the base) and ``"after"`` (the
    adapter), per held-out split (``"test"``: unseen topics, ``"test_types"``: unseen
    constraint types) and verdict mode, the pairwise evaluator's metrics; the held-out pairs
    per split."""

    measured: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    held_out_pairs: dict[str, int] = field(default_factory=dict)

    def metric(self, who: str, split: str, mode: str, name: str) -> float | None:
        """One metric, e.g. ``metric("after", "test", "generate", "accuracy")``; None when
        it was not measured."""
        return _number(self.measured.get(who, {}).get(split, {}).get(mode, {}).get(name))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeResults:
        measured = {who: data[who] for who in ("before", "after") if isinstance(data.get(who), Mapping)}
        return cls(measured, dict(data.get("held_out_pairs") or {}))

    @classmethod
    def read(cls, folder: str | os.PathLike) -> JudgeResults:
        return cls.from_dict(read_results(folder))


__all__ = ["RESULTS_FILE", "JudgeResults", "PolicyResults", "Satisfaction", "read_results", "write_results"]
