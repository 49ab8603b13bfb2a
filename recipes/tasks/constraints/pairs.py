"""Judge data for constraint prompts: preference pairs and short code-written judge traces.

``JudgePair`` has the shape of ``tasks.sums.JudgePair`` (``problem``, ``first``,
``second``, ``label``, ``chosen``, ``rejected``; ``problem.prompt`` is the text the judge
sees), so the judge-training code reads either.

    samples = generate_completions(model, tokenizer, [p.prompt for p in prompts], num_samples=4, temperature=1.0)
    pairs = judge_pairs(prompts, samples, seed=0)        # the policy's own answers
    pairs += templated_pairs(prompts, seed=0)            # written by code, for rare types
    judge_trace(pairs[0], get_format("rrm"))             # SFT target: check each, then verdict
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trl_rrm.formats import PairwiseFormat, PointwiseFormat
from trl_rrm.seeds import seeded_rng

from ..common import ShownPair, check_pairwise
from . import text as T
from .evidence import MARK, WALK_LIMIT, evidence, walked_copy
from .prompts import ConstraintPrompt
from .templated import respond


@dataclass(frozen=True)
class JudgePair(ShownPair):
    """A response that satisfies all constraints and one that does not, in a fixed shown
    order: ``label`` is 0 when the satisfying one is shown first, 1 otherwise.

    ``same``: both responses satisfy every constraint, or both break one
    (``same_outcome_pairs``); no response is preferred and ``label`` is arbitrary."""

    problem: ConstraintPrompt
    first: str
    second: str
    label: int
    same: bool = False

    def to_dict(self) -> dict[str, Any]:
        row = {"problem": self.problem.to_dict(), "first": self.first, "second": self.second, "label": self.label}
        return {**row, "same": True} if self.same else row

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> JudgePair:
        problem = ConstraintPrompt.from_dict(row["problem"])
        return cls(problem, row["first"], row["second"], int(row["label"]), bool(row.get("same", False)))


def _ordered(rng: random.Random, prompt: ConstraintPrompt, good: str, bad: str) -> JudgePair:
    label = rng.randint(0, 1)
    first, second = (good, bad) if label == 0 else (bad, good)
    return JudgePair(problem=prompt, first=first, second=second, label=label)


def _distinct(prompt: ConstraintPrompt, texts: Sequence[str]) -> tuple[list[str], list[str]]:
    """(satisfying, violating) texts, without empty ones and repeats (ignoring whitespace)."""
    good, bad, seen = [], [], set()
    for text in texts:
        key = T.clean(text)
        if not key or key in seen:
            continue
        seen.add(key)
        (good if prompt.check(text) else bad).append(text)
    return good, bad


def judge_pairs(
    prompts: Sequence[ConstraintPrompt], samples: Sequence[Sequence[str]], *, seed: int = 0, per_prompt: int = 1
) -> list[JudgePair]:
    """Preference pairs from sampled completions: one satisfying all constraints vs one not.

    Prompts whose samples all pass or all fail give no pair; empty completions and
    repeats of an earlier text (ignoring surrounding whitespace) are skipped. The shown
    order comes from a seeded RNG, so about half the pairs have the satisfying one second.

    Raises:
        ValueError: ``prompts`` and ``samples`` differ in length, or ``per_prompt`` < 1.
    """
    if len(prompts) != len(samples):
        raise ValueError(f"len(prompts)={len(prompts)} != len(samples)={len(samples)}")
    if per_prompt < 1:
        raise ValueError(f"per_prompt={per_prompt!r} must be >= 1")
    rng = seeded_rng("constraint_judge_pairs", seed)
    pairs = []
    for prompt, texts in zip(prompts, samples):
        good, bad = _distinct(prompt, texts)
        pairs += [_ordered(rng, prompt, g, b) for g, b in list(zip(good, bad))[:per_prompt]]
    return pairs


def same_outcome_pairs(
    prompts: Sequence[ConstraintPrompt],
    samples: Sequence[Sequence[str]],
    templated_prompts: Sequence[ConstraintPrompt] = (),
    *,
    seed: int = 0,
) -> list[JudgePair]:
    """Pairs where no response is preferred (``same=True``): two distinct answers that
    both satisfy every constraint, or both break one. From ``samples``, at most one of each
    kind per prompt; from code, for each of ``templated_prompts``, two satisfying and two
    violating answers (``templated.respond`` twice).

    Why: in every preference pair one response passes and the other fails, so a judge can
    check the first and write the opposite for the second; the committed judge did (all of
    its 120 held-out judgments had one yes and one no, and a wrong one had both checks
    wrong). Trained on these with no loss on the verdict (``Judgment.verdict_loss``), it
    has to check each response on its own."""
    if len(prompts) != len(samples):
        raise ValueError(f"len(prompts)={len(prompts)} != len(samples)={len(samples)}")
    rng = seeded_rng("constraint_same_outcome_pairs", seed)
    found: list[tuple[ConstraintPrompt, str, str]] = []
    for prompt, texts in zip(prompts, samples):
        found += [(prompt, *kind[:2]) for kind in _distinct(prompt, texts) if len(kind) >= 2]
    for i, prompt in enumerate(templated_prompts):
        a, b = (respond(prompt, seeded_rng(seed, i, k, prompt.prompt)) for k in "ab")
        if a is not None and b is not None:
            found += [(prompt, x, y) for x, y in zip(a, b) if T.clean(x) != T.clean(y)]
    pairs = []
    for prompt, x, y in found:
        shown = _ordered(rng, prompt, x, y)
        pairs.append(JudgePair(prompt, shown.first, shown.second, shown.label, same=True))
    return pairs


def templated_pairs(prompts: Sequence[ConstraintPrompt], *, seed: int = 0) -> list[JudgePair]:
    """One pair per prompt written by code (no model): a satisfying response and a near
    miss that breaks exactly one constraint (``templated.respond``), in a seeded shown
    order. Prompts for which no verified pair is found are skipped (rare: custom words
    without a carrier phrase)."""
    rng = seeded_rng("constraint_templated_pairs", seed)
    pairs = []
    for i, prompt in enumerate(prompts):
        found = respond(prompt, seeded_rng(seed, i, prompt.prompt))
        if found is not None:
            pairs.append(_ordered(rng, prompt, *found))
    return pairs


_DECISION = re.compile(r": (yes|no)$", re.M)
_COPY = re.compile(r"^[^\n]*?: '(\S+)", re.M)
_EVIDENCE = re.compile(r"^- [^\n]*?: (.+?) -> ", re.M)


def decisive_spans(trace: str, marks: bool = False) -> tuple[tuple[int, int], ...]:
    """The character spans that decide in a ``judge_trace``: the evidence of every check
    (what it found: ``none`` or ``after 'tea'``, the counted words; the check is made
    there, and its yes/no follows from it), every check's yes/no, and the first word of
    every copied response (which response the analysis reads); with ``marks``, also every
    mark of a walked copy (``(found 1)``: the check made at that word). ``trl_rrm.warm_start``
    weighs them more, and its ``decisive_accuracy`` is measured on them."""
    copy_lines = [m for m in _COPY.finditer(trace) if not trace[m.start() : m.start(1)].startswith("-")]
    copies = [m.span(1) for m in copy_lines]
    found = [m.span(1) for m in _EVIDENCE.finditer(trace)]
    walked = []
    for line in copy_lines if marks else ():
        end = trace.find("\n", line.start(1))
        walked += [k.span() for k in MARK.finditer(trace, line.start(1), len(trace) if end < 0 else end)]
    return tuple(sorted([*copies, *found, *walked, *(m.span(1) for m in _DECISION.finditer(trace))]))


def quote(response: str, limit: int = WALK_LIMIT) -> str:
    """A response as a judge's trace copies it: one line (line breaks as " / "), at most
    ``limit`` words, without characters a verdict parser could read (``text.snip``)."""
    lines = [" ".join(line.split()) for line in T.clean(response).splitlines() if line.strip()]
    words = " / ".join(lines).split(" ")
    text = " ".join(words[:limit]) + (" ..." if len(words) > limit else "")
    return T.snip(text, limit=10 * limit) if text else "(empty)"


def judge_trace(pair: JudgePair, fmt: PairwiseFormat, walk: bool = False, copy_limit: int = WALK_LIMIT) -> str:
    """A short worked judgment of ``pair``: state the rule; then for each response, copy
    it, write the evidence its check reads (``evidence``: quoted or counted) and the
    check's yes/no; then the verdict. Each decision comes after the text it rests on:
    the copy ties the analysis to the right response (a small judge otherwise reads the
    wrong slot), the evidence sits next to the rule.

    The warm-start (SFT) targets of a judge, written by code that knows the rules:

        Rule: End your answer with a question.
        Assistant 1: 'I like tea. It is calming.'
        - ends: 'is calming.' -> ends with '?': no
        Assistant 2: 'Do you like tea?'
        - ends: 'like tea?' -> ends with '?': yes
        \\boxed{Assistant 2}

    With ``walk`` (an experiment, E7 in docs/results/judge_training.md), a walked type's
    copy marks each word its check counts and the evidence is the count
    (``evidence.walked_copy``). Either copy stops after ``copy_limit`` words (``...``), so
    a padded response cannot run the judgment past its budget.

    The names and the verdict are the format's own (``PairwiseFormat.names`` and
    ``verdicts``), the layout its ``written_judgment`` (``rm_r1`` formats put the rule in
    ``<rubric>`` and the checks in ``<eval>``). The verdict follows ``pair.label``.

    Raises:
        TypeError: ``fmt`` is not a pairwise format.
    """
    check_pairwise(fmt)
    constraints = list(pair.problem.constraints)
    checks = [line for name, text in zip(fmt.names, (pair.first, pair.second))
              for line in _checked(constraints, name, text, walk, copy_limit)]  # fmt: skip
    return fmt.written_judgment(_rule(constraints), checks, pair.label)


def _rule(constraints: list) -> str:
    return f"Rule{'s' * (len(constraints) > 1)}: " + " ".join(c.instruction() for c in constraints)


def _checked(constraints: list, name: str, text: str, walk: bool, copy_limit: int) -> list[str]:
    """One response's lines of a trace: its copy (walked or quoted), then each check."""
    walked = walked_copy(constraints, text, copy_limit) if walk else None
    lines = [f"{name}: '{walked[0] if walked else quote(text, copy_limit)}'"]
    return lines + [f"- {evidence(c, text, walk)} -> {c.describe_fact(text)}: {'yes' if c.check(text) else 'no'}"
                    for c in constraints]  # fmt: skip


def response_trace(problem: Any, response: str, fmt: PointwiseFormat, walk: bool = False,
                   copy_limit: int = WALK_LIMIT) -> tuple[str, bool]:  # fmt: skip
    """A pointwise judgment of one response, as ``judge_trace`` writes each response's part:
    the rule, the response's copy, each check with its evidence and yes/no, then the
    verdict (yes when every check passes), and whether it passes::

        Rule: End your answer with a question.
        Response: 'I like tea. It is calming.'
        - ends: 'is calming.' -> ends with '?': no
        \\boxed{no}

    Raises:
        ValueError: ``fmt`` is not a pointwise format with a yes/no scale.
    """
    if sorted(getattr(fmt, "values", ())) != [0.0, 1.0]:
        raise ValueError(f"fmt={fmt.name!r} has no trace; expected a yes/no pointwise format ('pointwise')")
    constraints = list(problem.constraints)
    passes = all(c.check(response) for c in constraints)
    checks = _checked(constraints, "Response", response, walk, copy_limit)
    return fmt.written_judgment(_rule(constraints), checks, float(passes)), passes
