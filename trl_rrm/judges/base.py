"""The judge protocol, and the backend-independent half of every generative judge.

A *pairwise judge* is any object with ``compare(matches) -> list[Verdict]``; a *listwise
judge* also has ``rank(matches) -> list[Ranking | None]``. Tournaments, the reward and
the labeler only call these, so a user can plug in a rule, an API client or a model::

    class LengthJudge:                      # prefers the shorter response
        def compare(self, matches):
            return [Verdict(winner=int(len(m.responses[1]) < len(m.responses[0]))) for m in matches]

``GenerativeJudge`` implements both methods for judges that write text: it plans the
requests (presentation orders, votes, masked listwise shuffles), hands them to the
backend's ``generate`` in ONE batch, parses, forces answers where asked, and votes.
A backend (``HFJudge``, an HTTP client) only turns chat messages into text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol, runtime_checkable

from ..formats import FORMATS, ListwiseFormat, PairwiseFormat, get_format, render_text
from ..parsing import PAIRWISE_FORMATS, final_answer_text
from ..types import Match, Message, Ranking, Verdict

logger = logging.getLogger(__name__)


@runtime_checkable
class PairwiseJudge(Protocol):
    def compare(self, matches: Sequence[Match]) -> list[Verdict]: ...


@runtime_checkable
class ListwiseJudge(Protocol):
    def compare(self, matches: Sequence[Match]) -> list[Verdict]: ...

    def rank(self, matches: Sequence[Match]) -> list[Ranking | None]: ...


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt for the backend.

    Attributes:
        messages: chat messages for the judge's chat template.
        num_samples: independent samples to draw (votes).
        assistant_prefix: text the judge's answer is forced to start with; the backend
            returns only what it generates after it.
        max_new_tokens: overrides the judge's budget (forced answers need only a few).
        greedy: decode greedily whatever the sampling settings.
        stop: strings that end a sample as soon as its final answer (the text after
            thinking; nothing while a ``<think>`` block is open) contains one of them; the
            string stays in the text. Only a saving: a backend may ignore it.
    """

    messages: list[Message]
    num_samples: int = 1
    assistant_prefix: str = ""
    max_new_tokens: int | None = None
    greedy: bool = False
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Generation:
    """One sample: its text, how many tokens it took, and whether it ended by itself
    (end-of-sequence) rather than by running out of budget."""

    text: str
    tokens: int
    finished: bool


VERDICT_MODES = ("generate", "forced", "likelihood", "direct")


@dataclass(frozen=True)
class ScoreRequest:
    """Log-probabilities of ``candidates`` as continuations of the judge's answer.

    Attributes:
        messages: chat messages for the judge's chat template.
        assistant_prefix: the answer text so far (analysis + verdict prefix).
        candidates: continuations to score; each gets the sum of its tokens' log-probs.
    """

    messages: list[Message]
    assistant_prefix: str
    candidates: tuple[str, ...]


@dataclass
class JudgingConfig:
    """How a generative judge judges; shared by every backend.

    Attributes:
        format: ``"rrm"``, ``"rm_r1"``, ``"rm_r1_distilled"`` or ``"principle"``.
        system_prompt: the user's own system prompt (None keeps the format's default).
        user_template: the user's own user-turn template, with the format's placeholders.
        strip_think: remove ``<think>`` blocks from policy responses before judging.
        max_new_tokens: the thinking budget per judgment.
        temperature: sampling temperature; 0 decodes greedily.
        top_p: nucleus sampling.
        num_votes: samples per presentation order; the majority decides.
        both_orders: judge every pair in both orders; disagreement is a tie.
        order: with one order, ``"random"`` shows each pair in a seeded random order
            (content-hashed, reproducible), ``"fixed"`` always as given.
        seed: seeds presentation orders, listwise shuffles and sampling.
        forced_answer: when a judgment has no verdict (budget spent, or the judge never
            wrote one), close its thinking, append the verdict prefix and generate
            ``forced_answer_tokens`` more tokens greedily. Pairwise formats only.
        forced_answer_tokens: budget of a forced answer.
        verdict: how a pairwise verdict is read.
            ``"generate"``: parse the judge's own verdict only.
            ``"forced"``: parse, else force one (same as ``forced_answer=True``).
            ``"likelihood"``: generate the analysis, then always score the two verdict
            labels after it (in place of the judge's own verdict) and keep the
            probability p(first better) in ``Verdict.p_first``.
            ``"direct"``: no analysis: one forward pass per match and order scores the
            labels right after the prompt; the cheapest judge.
        cache_identical: judge identical requests (same rendered messages, e.g. duplicate
            completions of a GRPO group, or a pair of equal responses shown in both
            orders) once per ``compare``/``rank`` call and share the result. Exact when
            judging is deterministic (greedy or ``direct``); under sampling each match
            still gets ``num_votes`` samples of the same distribution, shared with its
            duplicates. A shared copy reports 0 tokens (it cost nothing).
        stop_at_verdict: end a judgment as soon as its final answer holds a complete
            verdict (``\\boxed{Assistant 1}``, ``<answer>[[A]]</answer>``, ...). Parsing
            reads the *last* verdict, so this differs only for a judge that writes a
            second verdict after a first complete one; off by default for that reason.
        adaptive_votes: with ``num_votes`` = n > 2, sample a strict majority
            (n // 2 + 1) of votes first and the rest only for orders whose first votes do
            not all agree on a parsed verdict. The winner is the one all n votes would
            give to those same first votes, but ``votes``/``share`` hold fewer samples.
            ``generate``/``forced`` verdicts only; off by default.
    """

    format: Literal["rrm", "rm_r1", "rm_r1_distilled", "principle"] = "rrm"
    system_prompt: str | None = None
    user_template: str | None = None
    strip_think: bool = True
    max_new_tokens: int = 1024
    temperature: float = 0.6
    top_p: float = 1.0
    num_votes: int = 1
    both_orders: bool = False
    order: Literal["random", "fixed"] = "random"
    seed: int = 0
    forced_answer: bool = False
    forced_answer_tokens: int = 8
    verdict: Literal["generate", "forced", "likelihood", "direct"] = "generate"
    cache_identical: bool = True
    stop_at_verdict: bool = False
    adaptive_votes: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format={self.format!r} is unknown; expected one of {FORMATS}")
        positive_int("max_new_tokens", self.max_new_tokens)
        positive_int("num_votes", self.num_votes)
        positive_int("forced_answer_tokens", self.forced_answer_tokens)
        if not self.temperature >= 0:
            raise ValueError(f"temperature={self.temperature!r} must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p={self.top_p!r} must be in (0, 1]")
        if self.num_votes > 1 and self.temperature == 0:
            raise ValueError(f"num_votes={self.num_votes} needs sampling, but temperature=0 decodes greedily")
        if self.order not in ("random", "fixed"):
            raise ValueError(f"order={self.order!r} must be 'random' or 'fixed'")
        if self.verdict not in VERDICT_MODES:
            raise ValueError(f"verdict={self.verdict!r} is unknown; expected one of {VERDICT_MODES}")
        if self.forced_answer and self.verdict == "generate":
            self.verdict = "forced"
        self.forced_answer = self.verdict == "forced"
        if self.verdict in ("likelihood", "direct") and self.format == "principle":
            raise ValueError(f"verdict={self.verdict!r} scores pairwise verdict labels; format='principle' is listwise")

    def build_format(self) -> PairwiseFormat | ListwiseFormat:
        kwargs = {} if self.system_prompt is None else {"system_prompt": self.system_prompt}
        return get_format(self.format, user_template=self.user_template, strip_think=self.strip_think, **kwargs)


def positive_int(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from content, identical across processes and runs (unlike hash())."""
    digest = hashlib.sha256("\x1f".join(render_part(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def render_part(part: object) -> str:
    if isinstance(part, (str, int, float)) or part is None:
        return str(part)
    return render_text(part)  # a message list


_TIE = "tie"


def _majority(votes: Sequence[int | None]) -> int | str | None:
    counts = Counter(v for v in votes if v is not None)
    if not counts:
        return None
    if counts[0] == counts[1]:
        return _TIE
    return 0 if counts[0] > counts[1] else 1


def combine_votes(
    votes_by_order: Sequence[Sequence[int | None]],
    raws_by_order: Sequence[Sequence[str]],
    tokens: int,
    forced: int,
    probabilities: Sequence[tuple[bool, float]] | None = None,
) -> Verdict:
    """Turns the judgments of one match into a Verdict.

    ``votes_by_order`` holds one list per presentation order, each vote already in match
    orientation. Each order's majority is its result; two decisive orders that disagree
    make a tie, as does an even split of votes.

    ``probabilities`` (soft verdicts): one ``(swapped, p)`` per order, ``p`` the mean
    probability that ``responses[0]`` is better in that order. Then ``p_first`` is their
    mean, ``(p_ab + (1 - p_ba)) / 2`` with both orders, and decides the winner
    (exactly 0.5 is a tie); the parsed votes stay in ``votes`` for the record.
    """
    if probabilities:
        return _soft_verdict(votes_by_order, raws_by_order, tokens, forced, probabilities)
    results = [_majority(votes) for votes in votes_by_order]
    valid = [r for r in results if r is not None]
    votes = tuple(v for order in votes_by_order for v in order)
    raw = tuple(t for order in raws_by_order for t in order)
    winner: int | None = None
    tie = False
    if valid:
        if _TIE in valid or len(set(valid)) > 1:
            tie = True
        else:
            winner = valid[0]
    order_agreement = None
    if len(results) == 2 and all(r in (0, 1) for r in results):
        order_agreement = results[0] == results[1]
    counted = [v for v in votes if v is not None]
    share = counted.count(winner) / len(counted) if winner is not None else None
    decisive = next((t for v, t in zip(votes, raw) if winner is not None and v == winner), raw[0] if raw else None)
    return Verdict(
        winner=winner,
        votes=votes,
        rationale=decisive,
        raw=raw,
        tokens=tokens,
        tie=tie,
        share=share,
        order_agreement=order_agreement,
        forced=forced,
    )


def _soft_verdict(
    votes_by_order: Sequence[Sequence[int | None]],
    raws_by_order: Sequence[Sequence[str]],
    tokens: int,
    forced: int,
    probabilities: Sequence[tuple[bool, float]],
) -> Verdict:
    p_first = sum(p for _, p in probabilities) / len(probabilities)
    winner = None if p_first == 0.5 else int(p_first < 0.5)
    order_agreement = position_bias = None
    if len(probabilities) == 2 and probabilities[0][0] != probabilities[1][0]:
        sides = [None if p == 0.5 else p > 0.5 for _, p in probabilities]
        order_agreement = None if None in sides else sides[0] == sides[1]
        # probability given to whichever response was shown first, averaged over orders
        shown_first = [1 - p if swapped else p for swapped, p in probabilities]
        position_bias = sum(shown_first) / 2 - 0.5
    raw = tuple(t for order in raws_by_order for t in order)
    return Verdict(
        winner=winner,
        votes=tuple(v for order in votes_by_order for v in order),
        rationale=raw[0] if raw else None,
        raw=raw,
        tokens=tokens,
        tie=winner is None,
        share=None if winner is None else max(p_first, 1 - p_first),
        order_agreement=order_agreement,
        forced=forced,
        p_first=p_first,
        position_bias=position_bias,
    )


def _close_thinking(text: str) -> str:
    """The text a forced answer continues from: thinking closed, a blank line."""
    if final_answer_text(text) is None:  # an opened <think> that never closed
        return text.rstrip() + "\n</think>\n\n"
    return text.rstrip() + "\n\n"


class GenerativeJudge:
    """A judge that writes text. Subclasses implement ``generate``.

    Args:
        config: a ``JudgingConfig`` (or a subclass with backend fields).
    """

    def __init__(self, config: JudgingConfig) -> None:
        self.config = config
        self.format = config.build_format()
        self._calls = 0

    # ---- backend --------------------------------------------------------------
    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Generation]]:
        """Generates ``num_samples`` texts for every request, all in one batch."""
        raise NotImplementedError

    def score(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        """Summed token log-probabilities of each request's candidates, in one batch."""
        raise NotImplementedError(f"{type(self).__name__} cannot read token probabilities; use verdict='generate'")

    # ---- pairwise -------------------------------------------------------------
    def _orders(self, match: Match) -> list[bool]:
        """Presentation orders for a match: False = as given, True = swapped."""
        if self.config.both_orders:
            return [False, True]
        if self.config.order == "fixed":
            return [False]
        return [bool(stable_seed(self.config.seed, match.prompt, *match.responses) & 1)]

    def compare(self, matches: Sequence[Match]) -> list[Verdict]:
        """Judges every match; one ``generate`` call (plus one for forced answers).

        Raises:
            TypeError: the judge's format is listwise.
            ValueError: a match does not have exactly two responses.
        """
        fmt = self.format
        if not isinstance(fmt, PairwiseFormat):
            raise TypeError(f"format={fmt.name!r} is listwise; use rank(), or a pairwise format for compare()")
        for i, match in enumerate(matches):
            if len(match.responses) != 2:
                raise ValueError(f"matches[{i}] has {len(match.responses)} responses; a pairwise judge needs 2")
        self._calls += 1
        mode = self.config.verdict
        stop = verdict_strings(fmt) if self.config.stop_at_verdict else ()
        plan: list[tuple[int, bool]] = []
        requests = []
        for i, match in enumerate(matches):
            for swapped in self._orders(match):
                first, second = match.responses[::-1] if swapped else match.responses
                plan.append((i, swapped))
                messages = fmt.render(match.prompt, first, second, match.principle)
                requests.append(GenerationRequest(messages, self.config.num_votes, stop=stop))
        if mode == "direct":  # no analysis: the labels are scored right after the prompt
            texts = [[""] for _ in requests]
            tokens = [0] * len(requests)
        else:
            samples = self._sample(requests, adaptive=self.config.adaptive_votes and mode in ("generate", "forced"))
            texts = [[g.text for g in gens] for gens in samples]
            tokens = [sum(g.tokens for g in gens) for gens in samples]
        forced = [0] * len(requests)
        if mode == "forced":
            self._force(requests, texts, tokens, forced)
        soft = self._probabilities(requests, texts) if mode in ("likelihood", "direct") else None

        votes: list[list[list[int | None]]] = [[] for _ in matches]
        raws: list[list[list[str]]] = [[] for _ in matches]
        probabilities: list[list[tuple[bool, float]]] = [[] for _ in matches]
        match_tokens, match_forced = [0] * len(matches), [0] * len(matches)
        for r, ((i, swapped), request_texts) in enumerate(zip(plan, texts)):
            if mode == "direct":
                parsed = [None if p == 0.5 else int(p < 0.5) for p in soft[r]]
            else:
                parsed = [fmt.parse(t) for t in request_texts]
            votes[i].append([None if v is None else (1 - v if swapped else v) for v in parsed])
            raws[i].append(request_texts)
            match_tokens[i] += tokens[r]
            match_forced[i] += forced[r]
            if soft is not None:
                p_shown_first = sum(soft[r]) / len(soft[r])
                probabilities[i].append((swapped, 1 - p_shown_first if swapped else p_shown_first))
        return [
            combine_votes(votes[i], raws[i], match_tokens[i], match_forced[i], probabilities[i] or None)
            for i in range(len(matches))
        ]

    def _sample(self, requests: list[GenerationRequest], adaptive: bool = False) -> list[list[Generation]]:
        """``generate`` with the identical-request cache and adaptive voting (see the config)."""
        if not requests:
            return []
        unique, where = _unique(requests, _request_key) if self.config.cache_identical else (requests, None)
        n = unique[0].num_samples
        if adaptive and n > 2 and isinstance(self.format, PairwiseFormat):
            head = n // 2 + 1
            samples = self.generate([replace(r, num_samples=head) for r in unique])
            todo = [u for u, gens in enumerate(samples) if not _unanimous(self.format, gens)]
            if todo:
                self._calls += 1  # a fresh sampling seed: the second round must not replay the first
                more = self.generate([replace(unique[u], num_samples=n - head) for u in todo])
                for u, gens in zip(todo, more):
                    samples[u] = list(samples[u]) + list(gens)
            logger.debug("adaptive votes: %d of %d requests needed all %d votes", len(todo), len(unique), n)
        else:
            samples = self.generate(unique)
        return samples if where is None else _expand(samples, where, _free_copy)

    def _score_unique(self, requests: list[ScoreRequest]) -> list[list[float]]:
        """``score`` with the identical-request cache."""
        if not requests:
            return []
        if not self.config.cache_identical:
            return self.score(requests)
        unique, where = _unique(requests, _score_key)
        return _expand(self.score(unique), where, lambda copy: copy)

    def _probabilities(self, requests: list[GenerationRequest], texts: list[list[str]]) -> list[list[float]]:
        """p(first-shown response is better) for every sample, from the verdict labels.

        The context is the sample's analysis, cut before its own last verdict if it wrote
        one, thinking closed, then the format's scoring prefix; the two labels' summed
        token log-probabilities give p = 1 / (1 + exp(logp_second - logp_first)).
        """
        fmt = self.format
        score_requests = []
        for request, request_texts in zip(requests, texts):
            for text in request_texts:
                context = ""
                if text:
                    if fmt.parse(text) is not None:
                        text = text[: text.rfind(fmt.verdict_open)]
                    context = _close_thinking(text)
                score_requests.append(ScoreRequest(request.messages, context + fmt.score_prefix, fmt.labels))
        logps = iter(self._score_unique(score_requests))
        out = []
        for request_texts in texts:
            row = []
            for _ in request_texts:
                first, second = next(logps)
                row.append(1.0 / (1.0 + math.exp(min(second - first, 700.0))))
            out.append(row)
        return out

    def _force(
        self, requests: list[GenerationRequest], texts: list[list[str]], tokens: list[int], forced: list[int]
    ) -> None:
        """Appends a forced verdict to every sample that has none (in place)."""
        fmt = self.format
        todo, forced_requests = [], []
        for r, request_texts in enumerate(texts):
            for s, text in enumerate(request_texts):
                if fmt.parse(text) is None:
                    prefix = _close_thinking(text) + fmt.verdict_prefix
                    todo.append((r, s, prefix))
                    forced_requests.append(
                        GenerationRequest(
                            requests[r].messages,
                            assistant_prefix=prefix,
                            max_new_tokens=self.config.forced_answer_tokens,
                            greedy=True,
                        )
                    )
        if not todo:
            return
        for (r, s, prefix), (gen,) in zip(todo, self._sample(forced_requests)):
            texts[r][s] = prefix + gen.text
            tokens[r] += gen.tokens
            forced[r] += 1

    # ---- listwise -------------------------------------------------------------
    def rank(self, matches: Sequence[Match]) -> list[Ranking | None]:
        """Ranks the responses of every match in one ``generate`` call.

        Each match's responses are shuffled with a seeded RNG and shown as model-1..K;
        the answer is mapped back to match orientation. With ``num_votes > 1`` the scores
        (or, without scores, the positions) of the valid samples are averaged. A match
        whose samples are all unparseable gets None.

        Raises:
            TypeError: the judge's format is pairwise.
        """
        fmt = self.format
        if not isinstance(fmt, ListwiseFormat):
            raise TypeError(f"format={fmt.name!r} is pairwise; rank() needs format='principle'")
        self._calls += 1
        perms, requests = [], []
        for match in matches:
            perm = list(range(len(match.responses)))
            random.Random(stable_seed(self.config.seed, match.prompt, *match.responses)).shuffle(perm)
            perms.append(perm)
            shown = [match.responses[j] for j in perm]
            requests.append(GenerationRequest(fmt.render(match.prompt, shown, match.principle), self.config.num_votes))
        samples = self._sample(requests)
        return [_merge_rankings(fmt, perm, gens) for perm, gens in zip(perms, samples)]


# What closes each pairwise format's verdict after ``score_prefix + label``.
_VERDICT_CLOSE = {"rrm": "}", "rm_r1": "]]</answer>", "rm_r1_distilled": "]]</answer>"}


def verdict_strings(fmt: PairwiseFormat | ListwiseFormat) -> tuple[str, ...]:
    """The complete verdicts of a pairwise format (stop strings); () for others."""
    close = _VERDICT_CLOSE.get(fmt.name)
    if close is None or not isinstance(fmt, PairwiseFormat):
        return ()
    return tuple(fmt.score_prefix + label + close for label in fmt.labels)


def _request_key(request: GenerationRequest) -> str:
    return json.dumps(
        [request.messages, request.num_samples, request.assistant_prefix, request.max_new_tokens, request.greedy,
         request.stop],
        sort_keys=True, ensure_ascii=False, default=str,
    )


def _score_key(request: ScoreRequest) -> str:
    return json.dumps([request.messages, request.assistant_prefix, request.candidates], sort_keys=True,
                      ensure_ascii=False, default=str)


def _unique(items: list, key) -> tuple[list, list[tuple[int, bool]]]:
    """The distinct items (first occurrence kept), and for every item (its unique index,
    whether it is a later copy)."""
    seen: dict[str, int] = {}
    unique, where = [], []
    for item in items:
        k = key(item)
        if k in seen:
            where.append((seen[k], True))
        else:
            seen[k] = len(unique)
            where.append((len(unique), False))
            unique.append(item)
    return unique, where


def _expand(results: list, where: list[tuple[int, bool]], copy) -> list:
    return [copy(results[u]) if repeated else results[u] for u, repeated in where]


def _free_copy(generations: list[Generation]) -> list[Generation]:
    """A cached judgment shared by a duplicate: the same texts, no tokens spent."""
    return [Generation(g.text, 0, g.finished) for g in generations]


def _unanimous(fmt: PairwiseFormat, generations: Sequence[Generation]) -> bool:
    votes = {fmt.parse(g.text) for g in generations}
    return len(votes) == 1 and None not in votes


def _merge_rankings(fmt: ListwiseFormat, perm: list[int], gens: list[Generation]) -> Ranking | None:
    k = len(perm)
    parsed = [(g, fmt.parse(g.text, k)) for g in gens]
    valid = [(g, r) for g, r in parsed if r is not None]
    tokens = sum(g.tokens for g in gens)
    if not valid:
        return None
    # shown position j holds response perm[j]
    positions = [[0.0] * k for _ in valid]
    for v, (_, ranking) in enumerate(valid):
        for place, shown in enumerate(ranking.order):
            positions[v][perm[shown]] = place
    mean_pos = [sum(p[i] for p in positions) / len(valid) for i in range(k)]
    scores = None
    if all(r.scores is not None for _, r in valid):
        scores = tuple(sum(r.scores[perm.index(i)] for _, r in valid) / len(valid) for i in range(k))
    key = (lambda i: (-scores[i], mean_pos[i])) if scores else (lambda i: mean_pos[i])
    return Ranking(
        order=tuple(sorted(range(k), key=key)),
        scores=scores,
        rationale=valid[0][1].rationale,
        raw=tuple(g.text for g in gens),
        tokens=tokens,
        votes=len(valid),
    )


__all__ = [
    "PAIRWISE_FORMATS",
    "VERDICT_MODES",
    "Generation",
    "GenerationRequest",
    "ScoreRequest",
    "GenerativeJudge",
    "JudgingConfig",
    "ListwiseJudge",
    "PairwiseJudge",
    "combine_votes",
    "stable_seed",
    "verdict_strings",
]
