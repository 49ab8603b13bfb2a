"""What a judge is, as data: one description for run fingerprints and reports alike.

``settings`` is everything that decides a judge's verdicts: its class, its judging
settings (``JudgingConfig``), the weights it loads and how (``LOAD_FIELDS``), what is in
their files (``weights_digest``: a path names a folder, not its contents) and the dtype
they run in. A labeling run stores it to refuse a resume with another judge. ``summary`` is
the part a report prints beside its figures.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

from ..weights_digest import weights_digest
from .config import JudgingConfig
from .hf.config import HFLoadConfig

# Settings outside JudgingConfig that change what a judge's weights compute (placement,
# batch size and speed switches do not: they are left out, so a resume may change them).
LOAD_FIELDS = ("model", "adapter", "revision", "dtype", "load_in_4bit", "load_in_8bit", "trust_remote_code",
               "attn_implementation", "extra_body", "control_tokens")  # fmt: skip
# What a report prints beside its figures (those the judge has).
SUMMARY_FIELDS = ("model", "adapter", "format", "verdict", "both_orders", "num_votes", "max_new_tokens", "temperature",
                  "seed")  # fmt: skip


def settings(judge: Any) -> dict[str, Any]:
    """The judge's class, judging settings, loading settings, a digest of the model's and
    the adapter's files (``weights_digest``) and weights dtype (``"auto"`` resolved, as it
    differs between machines)."""
    description: dict[str, Any] = {"class": type(judge).__qualname__}
    config = getattr(judge, "config", None)
    if is_dataclass(config):
        kept = set(JudgingConfig.__dataclass_fields__) | set(LOAD_FIELDS)
        description.update({k: v for k, v in asdict(config).items() if k in kept})
    if isinstance(config, HFLoadConfig):  # weights loaded from files (a served judge's are not here)
        description["weights"] = {"model": weights_digest(config.model, config.revision),
                                  "adapter": weights_digest(config.adapter)}  # fmt: skip
    weights_dtype = getattr(judge, "weights_dtype", None)
    if callable(weights_dtype):
        description["dtype"] = weights_dtype()
    return description


def summary(judge: Any) -> dict[str, Any]:
    """``{"type": class name, ...SUMMARY_FIELDS the judge's config has}``, for reports."""
    out: dict[str, Any] = {"type": type(judge).__name__}
    config = getattr(judge, "config", None)
    out.update({k: getattr(config, k) for k in SUMMARY_FIELDS if config is not None and hasattr(config, k)})
    return out


__all__ = ["LOAD_FIELDS", "SUMMARY_FIELDS", "settings", "summary"]
