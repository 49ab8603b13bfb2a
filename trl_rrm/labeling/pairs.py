"""From a ranked group of candidates to preference rows: which pairs, and what each row says."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..driver import TournamentOutcome
from ..floor import TIE_TOLERANCE, separated
from ..types import Text


def as_response(value: Any) -> Text:
    """A candidate as given: text, a message list, or one message dict (made a list)."""
    return [value] if isinstance(value, dict) else value


def pair_agreement(outcome: TournamentOutcome, g: int, a: int, b: int) -> float | None:
    """Mean ``order_agreement`` of the both-order matches between ``a`` and ``b``; when the
    two never met with both orders, of every both-order match of the prompt; None without any."""
    direct, every = [], []
    for pairing, verdict in outcome.results:
        if pairing.group != g or verdict.order_agreement is None:
            continue
        every.append(float(verdict.order_agreement))
        if {pairing.first, pairing.second} == {a, b}:
            direct.append(float(verdict.order_agreement))
    chosen = direct or every
    return sum(chosen) / len(chosen) if chosen else None


def pair_rationale(outcome: TournamentOutcome, g: int, a: int, b: int) -> str | None:
    for pairing, verdict in outcome.results:
        if pairing.group == g and {pairing.first, pairing.second} == {a, b} and not verdict.failed:
            return verdict.rationale
    return outcome.rationales[g][a]


def select_pairs(
    outcome: TournamentOutcome,
    g: int,
    *,
    pairs: str,
    min_margin: float,
    min_order_agreement: float | None,
    dropped: Counter,
) -> list[tuple[int, int, float | None]]:
    """(chosen, rejected, order agreement) candidate indices of group ``g``; counts drops."""
    scores = outcome.scores[g]
    scored = [c for c, s in enumerate(scores) if s is not None]
    dropped["unscored_candidate"] += len(scores) - len(scored)
    if len(scored) < 2:
        dropped["too_few_candidates"] += 1
        return []
    if pairs == "best_worst":
        # ties between equal scores break towards the earlier candidate: deterministic
        candidates = [(max(scored, key=lambda c: scores[c]), min(scored, key=lambda c: scores[c]))]
    else:
        candidates = [
            (a, b) if scores[a] >= scores[b] else (b, a) for i, a in enumerate(scored) for b in scored[i + 1 :]
        ]
    kept = []
    for a, b in candidates:
        dropped["pairs_considered"] += 1
        margin = scores[a] - scores[b]
        if margin <= TIE_TOLERANCE:
            dropped["tie"] += 1
            continue
        if not separated(margin, min_margin):  # the noise floor (trl_rrm.floor)
            dropped["low_margin"] += 1
            continue
        agreement = pair_agreement(outcome, g, a, b)
        if min_order_agreement is not None and agreement is not None and agreement < min_order_agreement:
            dropped["order_disagreement"] += 1
            continue
        kept.append((a, b, agreement))
    return kept


def preference_row(
    prompt: Text, candidates: list[Text], outcome: TournamentOutcome, g: int, pair: tuple[int, int, float | None], index: int
) -> dict[str, Any]:
    """One row in TRL's preference format (conversational when the prompt is), with the scores."""
    a, b, agreement = pair
    conversational = isinstance(prompt, list)

    def response(value: Text) -> Text:
        return [{"role": "assistant", "content": value}] if conversational and isinstance(value, str) else value

    scores = outcome.scores[g]
    return {
        "prompt": prompt,
        "chosen": response(candidates[a]),
        "rejected": response(candidates[b]),
        "chosen_score": scores[a],
        "rejected_score": scores[b],
        "margin": scores[a] - scores[b],
        "order_agreement": agreement,
        "rationale": pair_rationale(outcome, g, a, b),
        "source_index": index,
    }
