"""The data a constraint judge is trained and tested on, built once and cached.

Training: prompts of every trained type (``TRAIN_TYPES``), the base policy's own sampled
answers paired one satisfying vs one violating (``judge_pairs``), and a code-written near
miss (``templated_pairs``) where the samples give no pair (the rare types).

Held out, one pair per prompt, the policy's own answers where they give a pair, else a
templated one:
- ``test``: prompts about unseen topics, of the trained types;
- ``test_types``: constraint types never used in training (``HELD_OUT_TYPES``).

    train, held_out = judge_data(model, tokenizer, seed=0, per_type=40, cache=Path("pairs.json"))
    held_out["test"], held_out["test_types"]          # lists of JudgePair
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .catalog import TRAIN_TYPES
from .pairs import JudgePair, judge_pairs, templated_pairs
from .prompts import ConstraintPrompt, constraint_prompts, evaluation_prompts
from .scoring import sample_completions

logger = logging.getLogger(__name__)


def _pairs_for(prompts: Sequence[ConstraintPrompt], samples: Sequence[Sequence[str]], seed: int) -> list[JudgePair]:
    """One pair per prompt: from its samples when they give one, else templated."""
    out = []
    for prompt, texts in zip(prompts, samples):
        found = judge_pairs([prompt], [texts], seed=seed, per_prompt=1) or templated_pairs([prompt], seed=seed)
        out.extend(found[:1])
    return out


def judge_data(
    model: Any,
    tokenizer: Any,
    *,
    seed: int = 0,
    per_type: int = 40,
    samples_per_prompt: int = 4,
    max_new_tokens: int = 24,
    held_out_limit: int | None = None,
    cache: Path | None = None,
) -> tuple[list[JudgePair], dict[str, list[JudgePair]]]:
    """Training pairs and held-out pairs by split (see the module doc); ``cache`` keeps
    them between runs (keyed by the settings), since sampling is the slow part."""
    key = {"seed": seed, "per_type": per_type, "samples": samples_per_prompt, "tokens": max_new_tokens,
           "limit": held_out_limit, "version": 1}  # fmt: skip
    if cache is not None and cache.is_file():
        stored = json.loads(cache.read_text())
        if stored.get("key") == key:
            logger.info("reusing the judge pairs in %s", cache)
            return [JudgePair.from_dict(p) for p in stored["train"]], {
                split: [JudgePair.from_dict(p) for p in pairs] for split, pairs in stored["held_out"].items()
            }
    train_prompts = constraint_prompts(per_type * len(TRAIN_TYPES), "train", seed=seed, types=list(TRAIN_TYPES))
    splits = {split: evaluation_prompts(split)[:held_out_limit] for split in ("test", "test_types")}
    every = [*train_prompts, *splits["test"], *splits["test_types"]]
    logger.info("sampling %d answers of the base for %d prompts", samples_per_prompt * len(every), len(every))
    samples = sample_completions(model, tokenizer, every, num_samples=samples_per_prompt, max_new_tokens=max_new_tokens,
                                 seed=seed)  # fmt: skip
    train = _pairs_for(train_prompts, samples[: len(train_prompts)], seed)
    held_out, start = {}, len(train_prompts)
    for split, prompts in splits.items():
        held_out[split] = _pairs_for(prompts, samples[start : start + len(prompts)], seed + 1000)
        start += len(prompts)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "train": [p.to_dict() for p in train],
                                     "held_out": {s: [p.to_dict() for p in v] for s, v in held_out.items()}}))  # fmt: skip
    return train, held_out


def save_pairs(path: Path, pairs: dict[str, list[JudgePair]]) -> None:
    path.write_text(json.dumps({split: [p.to_dict() for p in v] for split, v in pairs.items()}, indent=1))


def load_pairs(path: Path) -> dict[str, list[JudgePair]]:
    return {split: [JudgePair.from_dict(p) for p in v] for split, v in json.loads(Path(path).read_text()).items()}
