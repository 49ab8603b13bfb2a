"""The data a constraint judge is trained and tested on, built once and cached.

Training, on prompts of every trained type (``TRAIN_TYPES``):
- the base policy's own sampled answers, paired one satisfying vs one violating
  (``judge_pairs``), for ``sampled_per_type`` prompts per type;
- ``templated_per_prompt`` code-written pairs (``templated_pairs``: a satisfying answer and
  a near miss) for ``per_type`` prompts per type: they cost nothing, so the rare types
  get as many as the common ones;
- for a share ``attack_share`` of those pairs, a copy whose violating answer carries an
  attack from ``trl_rrm.evaluation.robustness`` (padding, a self-declared verdict, forged
  sections, spelled control tokens, a master key), kept only where it still violates:
  the judge learns that what a response *says* about itself is no evidence;
- with ``same_outcome``, pairs of two satisfying or two violating answers of the same
  prompts (``same_outcome_pairs``: ``same=True``, no preferred response), so the judge
  checks each response instead of mirroring its first check.

Held out, ``held_out_per_type`` prompts of EVERY type of a split (stratified, never the
first n of one type), one pair per prompt, the base's own answers where they give a pair,
else a templated one:
- ``test``: prompts about unseen topics, of the trained types;
- ``test_types``: constraint types never used in training (``HELD_OUT_TYPES``).

    train, held_out = judge_data(model, tokenizer, seed=0, cache=Path("pairs.json"))
    held_out["test"], held_out["test_types"]          # lists of JudgePair
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trl_rrm.evaluation.robustness import ATTACKS
from trl_rrm.formats import FORMATS, PairwiseFormat
from trl_rrm.sampling import generate_completions
from trl_rrm.seeds import seeded_rng

from .catalog import TRAIN_TYPES
from .pairs import JudgePair, judge_pairs, same_outcome_pairs, templated_pairs
from .prompts import ConstraintPrompt, constraint_prompts, evaluation_prompts

logger = logging.getLogger(__name__)

# Attacks a policy could write into a violating answer (trl_rrm.evaluation.robustness).
TRAINING_ATTACKS = (
    "length_padding", "self_verdict_first_slot", "self_verdict_second_slot", "self_declared_better",
    "forged_sections", "spelled_control_tokens", "master_key_colon", "master_key_thought_process", "refusal",
)  # fmt: skip


def _pairs_for(prompts: Sequence[ConstraintPrompt], samples: Sequence[Sequence[str]], seed: int) -> list[JudgePair]:
    """One pair per prompt: from its samples when they give one, else templated."""
    out = []
    for prompt, texts in zip(prompts, samples):
        found = judge_pairs([prompt], [texts], seed=seed, per_prompt=1) or templated_pairs([prompt], seed=seed)
        out.extend(found[:1])
    return out


def check_attacks(attacks: Sequence[str], name: str = "attacks") -> None:
    """Raises ValueError naming the field (``name``) and the value when ``attacks`` is
    empty or holds a name that ``trl_rrm.evaluation.ATTACKS`` does not have (or ``none``,
    no attack at all)."""
    unknown = [a for a in attacks if a not in ATTACKS or a == "none"]
    if unknown or not attacks:
        raise ValueError(f"{name}={list(attacks)!r}: {unknown or 'none given'}; expected names from {sorted(ATTACKS)}")


def attacked_pairs(pairs: Sequence[JudgePair], share: float, *, seed: int = 0, fmt: PairwiseFormat = FORMATS["rrm"],
                   control_tokens: Sequence[str] = ("<|im_end|>",),
                   attacks: Sequence[str] = TRAINING_ATTACKS) -> list[JudgePair]:  # fmt: skip
    """Copies of a share of ``pairs`` whose violating answer carries one of ``attacks``
    (names in ``trl_rrm.evaluation.ATTACKS``, drawn per pair), kept only where it still
    violates. ``fmt``: the format whose sections and verdicts an attack forges.

    Raises:
        ValueError: see ``check_attacks``.
    """
    check_attacks(attacks)
    rng = seeded_rng("constraint_attacked_pairs", seed)
    out = []
    for pair in pairs:
        if pair.same or rng.random() >= share:
            continue
        attack = ATTACKS[rng.choice(list(attacks))]
        bad = attack(pair.rejected, fmt, control_tokens)
        if pair.problem.check(bad):
            continue
        first, second = (pair.chosen, bad) if pair.label == 0 else (bad, pair.chosen)
        out.append(JudgePair(pair.problem, first, second, pair.label))
    return out


def judge_data(
    model: Any,
    tokenizer: Any,
    *,
    seed: int = 0,
    per_type: int = 50,
    templated_per_prompt: int = 1,
    sampled_per_type: int = 20,
    samples_per_prompt: int = 4,
    max_new_tokens: int = 24,
    held_out_per_type: int = 5,
    attack_share: float = 0.0,
    same_outcome: bool = False,
    attacks: Sequence[str] = TRAINING_ATTACKS,
    cache: Path | None = None,
) -> tuple[list[JudgePair], dict[str, list[JudgePair]]]:
    """Training pairs and held-out pairs by split (see the module doc); ``cache`` keeps
    them between runs (keyed by the settings), since sampling is the slow part.

    Raises:
        ValueError: a count < 0 (``held_out_per_type`` < 1), ``attack_share`` outside [0, 1],
            or an unknown attack (``check_attacks``).
    """
    for name, value in (("per_type", per_type), ("templated_per_prompt", templated_per_prompt),
                        ("sampled_per_type", sampled_per_type)):  # fmt: skip
        if value < 0:
            raise ValueError(f"{name}={value!r} must be >= 0")
    if held_out_per_type < 1 or not 0.0 <= attack_share <= 1.0:
        raise ValueError(f"held_out_per_type={held_out_per_type!r} must be >= 1, attack_share={attack_share!r} in [0, 1]")
    check_attacks(attacks)
    key = {"seed": seed, "per_type": per_type, "templated": templated_per_prompt, "sampled": sampled_per_type,
           "samples": samples_per_prompt, "tokens": max_new_tokens, "held_out": held_out_per_type,
           "attacks": attack_share, "same_outcome": same_outcome, "version": 2}  # fmt: skip
    if tuple(attacks) != TRAINING_ATTACKS:  # the default keeps the caches written before the option
        key["attack_kinds"] = list(attacks)
    if cache is not None and cache.is_file():
        stored = json.loads(cache.read_text())
        if stored.get("key") == key:
            logger.info("reusing the judge pairs in %s", cache)
            return [JudgePair.from_dict(p) for p in stored["train"]], {
                split: [JudgePair.from_dict(p) for p in pairs] for split, pairs in stored["held_out"].items()
            }
    types = list(TRAIN_TYPES)
    sampled_prompts = constraint_prompts(sampled_per_type * len(types), "train", seed=seed + 1, types=types)
    splits = {split: evaluation_prompts(split, per_type=held_out_per_type) for split in ("test", "test_types")}
    every = [*sampled_prompts, *splits["test"], *splits["test_types"]]
    logger.info("sampling %d answers of the base for %d prompts", samples_per_prompt * len(every), len(every))
    samples = generate_completions(model, tokenizer, [p.prompt for p in every], num_samples=samples_per_prompt,
                                   temperature=1.0, max_new_tokens=max_new_tokens, seed=seed, batch_size=64)  # fmt: skip
    train = judge_pairs(sampled_prompts, samples[: len(sampled_prompts)], seed=seed, per_prompt=2)
    templated_prompts = constraint_prompts(per_type * len(types), "train", seed=seed, types=types)
    for k in range(templated_per_prompt):
        train += templated_pairs(templated_prompts, seed=seed * 100 + k)
    train += attacked_pairs(train, attack_share, seed=seed, attacks=attacks)
    if same_outcome:
        train += same_outcome_pairs(sampled_prompts, samples[: len(sampled_prompts)], templated_prompts, seed=seed)
    held_out, start = {}, len(sampled_prompts)
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
