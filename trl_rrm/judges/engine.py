"""GenerativeJudge: the backend-independent half of every judge that writes text.

``compare`` reads as a pipeline; each step is one method below::

    shown    = present(matches)            # untrusted texts made safe, cut to fit
    requests = one per (match, order)      # rendered in the format, one batch
    texts    = write(requests)             # the analyses (identical requests once; votes)
    texts    = force(requests, texts)      # verdict="forced": close, append the prefix
    probs    = label_probabilities(...)    # verdict="likelihood" / "direct" (a backend may
                                           # score them while writing: then_score)
    verdicts = combine orders and votes    # votes.combine_votes

``grade`` (pointwise formats) runs the same steps with one response a request and no
orders; ``compare`` with a pointwise format grades both responses of each match (every
distinct response once per call) and compares the grades (``protocol.compare_by_grades``).

A backend (``HFJudge``, ``OpenAIJudge``, a test double) implements ``generate`` (and
``score`` for probabilities); it may tell the engine about its tokenizer and context
(``control_tokens``, ``context_length``, ``measure`` for a batch's prompts and texts,
``cut_text``), which the defaults here approximate.
"""

from __future__ import annotations

import logging
import math
import random
import re
from collections.abc import Sequence
from dataclasses import replace

from ..formats import ListwiseFormat, PairwiseFormat, PointwiseFormat, render_content
from ..formats.untrusted import COMMON_CONTROL_TOKENS
from ..seeds import stable_seed
from ..thinking import close_thinking
from ..types import Grade, Match, Message, Ranking, Verdict
from .config import MODE_STEPS, GenerativeJudgeConfig, JudgingConfig, SpeedConfig
from .presenting import Presenter, Shown
from .protocol import compare_by_grades
from .requests import Generation, GenerationRequest, LabelScoring, ScoreRequest, expand, free_copy, unique
from .votes import combine_votes, merge_grade, merge_rankings, softmax, unanimous

logger = logging.getLogger(__name__)


class GenerativeJudge:
    """A judge that writes text. Subclasses implement ``generate``.

    Args:
        config: a ``GenerativeJudgeConfig`` (judging + speed options), or a backend config
            that extends it; a plain ``JudgingConfig`` runs with the default speed options.
    """

    def __init__(self, config: GenerativeJudgeConfig | JudgingConfig) -> None:
        self.config = config
        self.speed = config if isinstance(config, SpeedConfig) else SpeedConfig()
        self.format = config.build_format()

    # ---- the backend ----------------------------------------------------------
    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Generation]]:
        """Generates ``num_samples`` texts for every request, all in one batch."""
        raise NotImplementedError

    def score(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        """Summed token log-probabilities of each request's candidates, in one batch."""
        raise NotImplementedError(f"{type(self).__name__} cannot read token probabilities; use verdict='generate'")

    def control_tokens(self) -> Sequence[str] | re.Pattern:
        """Strings the judge's tokenizer reads as control tokens (default: common shapes)."""
        return COMMON_CONTROL_TOKENS

    def context_length(self) -> int | None:
        """The judge's context in tokens; None when unknown (nothing is cut to fit)."""
        return None

    def measure(self, prompts: Sequence[list[Message]], texts: Sequence[str]) -> tuple[list[int], list[int]]:
        """(tokens of each chat prompt, tokens of each text), in one call (default: about 4
        characters a token, 8 more per message)."""
        prompt_tokens = [sum(len(render_content(m.get("content"))) for m in chat) // 4 + 8 * len(chat) for chat in prompts]
        return prompt_tokens, [math.ceil(len(text) / 4) for text in texts]

    def cut_text(self, text: str, tokens: int) -> str:
        """The first ``tokens`` tokens of ``text`` (default: 4 characters a token)."""
        return text[: 4 * tokens]

    # ---- pairwise -------------------------------------------------------------
    def compare(self, matches: Sequence[Match]) -> list[Verdict]:
        """Judges every match; one ``generate`` call (plus one for forced answers).

        A pointwise format grades each distinct response once and compares the grades.

        Raises:
            TypeError: the judge's format is listwise.
            ValueError: a match does not have exactly two responses.
        """
        fmt = self.format
        if not isinstance(fmt, (PairwiseFormat, PointwiseFormat)):
            raise TypeError(f"format={fmt.name!r} is listwise; use rank(), or a pairwise format for compare()")
        for i, match in enumerate(matches):
            if len(match.responses) != 2:
                raise ValueError(f"matches[{i}] has {len(match.responses)} responses; a pairwise judge needs 2")
        if isinstance(fmt, PointwiseFormat):
            return compare_by_grades(self.grade, matches)
        writes, forces, scores = MODE_STEPS[self.config.verdict]
        shown = self._presenter().show(matches)
        plan = [(i, swapped) for i, (m, s) in enumerate(zip(matches, shown)) if s.fits for swapped in self._orders(m)]
        stop = fmt.verdicts if self.speed.stop_at_verdict else ()
        then = LabelScoring(self._score_context, fmt.labels) if writes and scores else None
        requests = [
            GenerationRequest(self._pairwise_messages(shown[i], swapped), self.config.num_votes, stop=stop,
                              then_score=then)  # fmt: skip
            for i, swapped in plan
        ]
        if writes:
            texts, tokens, known = self._write(requests)
        else:  # direct: the labels are scored right after the prompt
            texts, tokens, known = [[""] for _ in requests], [0] * len(requests), [[None] for _ in requests]
        forced = self._force(requests, texts, tokens) if forces else [0] * len(requests)
        probabilities = self._label_probabilities(requests, texts, known) if scores else None

        votes: list[list[list[int | None]]] = [[] for _ in matches]
        raws: list[list[list[str]]] = [[] for _ in matches]
        soft: list[list[tuple[bool, float]]] = [[] for _ in matches]
        spent, forced_by_match = [0] * len(matches), [0] * len(matches)
        for r, (i, swapped) in enumerate(plan):
            if probabilities is not None:
                p_shown_first = sum(probabilities[r]) / len(probabilities[r])
                soft[i].append((swapped, 1 - p_shown_first if swapped else p_shown_first))
            parsed = [fmt.parse(t) for t in texts[r]] if writes else [None if p == 0.5 else int(p < 0.5) for p in probabilities[r]]
            votes[i].append([None if v is None else (1 - v if swapped else v) for v in parsed])
            raws[i].append(texts[r])
            spent[i] += tokens[r]
            forced_by_match[i] += forced[r]
        return [
            combine_votes(votes[i], raws[i], spent[i], forced_by_match[i], soft[i] or None, shown[i].cut)
            if shown[i].fits
            else Verdict(winner=None, over_context=True)
            for i in range(len(matches))
        ]

    def shown_messages(self, matches: Sequence[Match], swapped: bool = False) -> list[list[Message] | None]:
        """The chat messages this judge is shown for each match (``swapped``: the second
        response first), exactly as ``compare`` renders them: untrusted text made safe and
        cut to fit. None for a match that cannot fit the judge's context.

        Train a judge on these (``trl_rrm.warm_start``): what it learns on is what it sees."""
        shown = self._presenter().show(matches)
        return [self._pairwise_messages(s, swapped) if s.fits else None for s in shown]

    def _orders(self, match: Match) -> list[bool]:
        """Presentation orders for a match: False = as given, True = swapped."""
        if self.config.both_orders:
            return [False, True]
        if self.config.order == "fixed":
            return [False]
        return [bool(stable_seed(self.config.seed, match.prompt, *match.responses) & 1)]

    def _pairwise_messages(self, shown: Shown, swapped: bool) -> list[Message]:
        responses = shown.responses[::-1] if swapped else shown.responses
        return self.format.messages(shown.query, responses, shown.principle)

    def _presenter(self) -> Presenter:
        cfg = self.config
        writes, forces, scores = MODE_STEPS[cfg.verdict]
        room = (cfg.max_new_tokens if writes else 0) + (cfg.forced_answer_tokens if forces else 0) + (8 if scores else 0)
        return Presenter(
            self.format, self, escape=cfg.escape_untrusted,
            max_response_tokens=cfg.max_response_tokens, room=room,
        )  # fmt: skip

    # ---- the steps ------------------------------------------------------------
    def _write(self, requests: list[GenerationRequest]) -> tuple[list[list[str]], list[int], list[list[tuple | None]]]:
        """Every request's sampled texts, the tokens they took, and the label log-probs
        the backend scored in the same pass (None where it did not)."""
        samples = self._sample(requests, adaptive=self.speed.adaptive_votes and isinstance(self.format, PairwiseFormat))
        texts = [[g.text for g in gens] for gens in samples]
        tokens = [sum(g.tokens for g in gens) for gens in samples]
        return texts, tokens, [[g.label_logps for g in gens] for gens in samples]

    def _sample(self, requests: list[GenerationRequest], adaptive: bool = False) -> list[list[Generation]]:
        """``generate`` with the identical-request cache and adaptive voting (see SpeedConfig)."""
        if not requests:
            return []
        distinct, where = unique(requests, lambda r: r.key) if self.speed.cache_identical else (requests, None)
        n = distinct[0].num_samples
        if adaptive and n > 2:
            head = n // 2 + 1
            samples = self.generate([replace(r, num_samples=head) for r in distinct])
            todo = [u for u, gens in enumerate(samples) if not unanimous(self.format, gens)]
            if todo:  # the later samples continue the indices (and seeds) of the first ones
                more = self.generate([replace(distinct[u], num_samples=n - head, first_sample=head) for u in todo])
                for u, gens in zip(todo, more):
                    samples[u] = list(samples[u]) + list(gens)
            logger.debug("adaptive votes: %d of %d requests needed all %d votes", len(todo), len(distinct), n)
        else:
            samples = self.generate(distinct)
        return samples if where is None else expand(samples, where, free_copy)

    def _force(self, requests: list[GenerationRequest], texts: list[list[str]], tokens: list[int]) -> list[int]:
        """Appends a forced verdict to every sample that has none (``texts``/``tokens`` in
        place); returns how many were forced per request."""
        fmt = self.format
        forced = [0] * len(requests)
        todo, forced_requests = [], []
        for r, request_texts in enumerate(texts):
            for s, text in enumerate(request_texts):
                if fmt.parse(text) is None:
                    prefix = close_thinking(text) + fmt.verdict_prefix
                    todo.append((r, s, prefix))
                    forced_requests.append(
                        GenerationRequest(
                            requests[r].messages, assistant_prefix=prefix,
                            max_new_tokens=self.config.forced_answer_tokens, greedy=True,
                        )  # fmt: skip
                    )
        for (r, s, prefix), (gen,) in zip(todo, self._sample(forced_requests)):
            texts[r][s] = prefix + gen.text
            tokens[r] += gen.tokens
            forced[r] += 1
        return forced

    def _score_context(self, text: str) -> str:
        """The answer text the verdict labels are scored after: the sample's analysis, cut
        before its own last verdict if it wrote one, thinking closed, the scoring prefix."""
        fmt = self.format
        context = ""
        if text:
            if fmt.parse(text) is not None:
                text = text[: text.rfind(fmt.verdict_open)]
            context = close_thinking(text)
        return context + fmt.score_prefix

    def _label_probabilities(
        self, requests: list[GenerationRequest], texts: list[list[str]], known: list[list[tuple | None]]
    ) -> list[list[float]]:
        """p(first-shown response is better) for every sample, from the verdict labels after
        ``_score_context``: p = 1 / (1 + exp(logp_second - logp_first))."""
        logps = self._label_logps(requests, texts, known, self.format.labels)
        return [[1.0 / (1.0 + math.exp(min(second - first, 700.0))) for first, second in row] for row in logps]

    def _label_logps(
        self, requests: list[GenerationRequest], texts: list[list[str]], known: list[list[tuple | None]],
        labels: tuple[str, ...],
    ) -> list[list[tuple[float, ...]]]:  # fmt: skip
        """Every sample's summed log-probability of each label after ``_score_context``.
        ``known``: the labels' log-probs a backend scored while writing; the rest are scored now."""
        todo = [(r, s) for r, row in enumerate(known) for s, logps in enumerate(row) if logps is None]
        score_requests = [ScoreRequest(requests[r].messages, self._score_context(texts[r][s]), labels) for r, s in todo]
        logps = [list(row) for row in known]
        for (r, s), scored in zip(todo, self._score_unique(score_requests)):
            logps[r][s] = tuple(scored)
        return logps

    def _score_unique(self, requests: list[ScoreRequest]) -> list[list[float]]:
        """``score`` with the identical-request cache."""
        if not requests:
            return []
        if not self.speed.cache_identical:
            return self.score(requests)
        distinct, where = unique(requests, lambda r: r.key)
        return expand(self.score(distinct), where, lambda copy: copy)

    # ---- pointwise ------------------------------------------------------------
    def grade(self, matches: Sequence[Match]) -> list[Grade]:
        """Judges the one response of every match on its own; one ``generate`` call (plus
        one for forced answers, one to score labels where they were not scored in place).

        The value of a judgment is its parsed verdict, normalised to [0, 1]; with
        ``verdict="likelihood"`` / ``"direct"``, the expected value under the label
        probabilities. ``num_votes`` samples are averaged; orders do not apply (one
        response is shown). A response that cannot fit gets ``Grade(None, over_context=True)``.

        Raises:
            TypeError: the judge's format is not pointwise.
            ValueError: a match does not have exactly one response.
        """
        fmt = self.format
        if not isinstance(fmt, PointwiseFormat):
            raise TypeError(f"format={fmt.name!r} is not pointwise; grade() needs format='pointwise' or 'pointwise_score'")
        for i, match in enumerate(matches):
            if len(match.responses) != 1:
                raise ValueError(f"matches[{i}] has {len(match.responses)} responses; a pointwise judge grades 1")
        writes, forces, scores = MODE_STEPS[self.config.verdict]
        shown = self._presenter().show(matches)
        plan = [i for i, s in enumerate(shown) if s.fits]
        stop = fmt.verdicts if self.speed.stop_at_verdict else ()
        then = LabelScoring(self._score_context, fmt.candidates) if writes and scores else None
        requests = [
            GenerationRequest(fmt.messages(shown[i].query, shown[i].responses, shown[i].principle),
                              self.config.num_votes, stop=stop, then_score=then)  # fmt: skip
            for i in plan
        ]
        if writes:
            texts, tokens, known = self._write(requests)
        else:
            texts, tokens, known = [[""] for _ in requests], [0] * len(requests), [[None] for _ in requests]
        forced = self._force(requests, texts, tokens) if forces else [0] * len(requests)
        expected = None
        if scores:
            logps = self._label_logps(requests, texts, known, fmt.candidates)
            expected = [[fmt.expected(softmax(row)) for row in sample] for sample in logps]
        grades = [Grade(None, over_context=True) for _ in matches]
        for r, i in enumerate(plan):  # votes: each parsed verdict, normalised (direct: its expected value)
            votes = [None if v is None else fmt.normalize(v) for v in map(fmt.parse, texts[r])] if writes else expected[r]
            grades[i] = merge_grade(votes, texts[r], tokens[r], forced[r], shown[i].cut,
                                    None if expected is None else expected[r])
        return grades

    # ---- listwise -------------------------------------------------------------
    def rank(self, matches: Sequence[Match]) -> list[Ranking | None]:
        """Ranks the responses of every match in one ``generate`` call.

        Each match's responses are shuffled with a seeded RNG and shown as model-1..K;
        the answer is mapped back to match orientation. With ``num_votes > 1`` the scores
        (or, without scores, the positions) of the valid samples are averaged. A match
        whose samples are all unparseable, or that does not fit the context, gets None.

        Raises:
            TypeError: the judge's format is pairwise.
        """
        fmt = self.format
        if not isinstance(fmt, ListwiseFormat):
            raise TypeError(f"format={fmt.name!r} is pairwise; rank() needs format='principle'")
        shown = self._presenter().show(matches)
        perms, requests = [], []
        for match, s in zip(matches, shown):
            perm = list(range(len(match.responses)))
            random.Random(stable_seed(self.config.seed, match.prompt, *match.responses)).shuffle(perm)
            perms.append(perm)
            if s.fits:
                requests.append(GenerationRequest(fmt.messages(s.query, [s.responses[j] for j in perm], s.principle),
                                                  self.config.num_votes))  # fmt: skip
        unfit = sum(not s.fits for s in shown)
        if unfit:
            logger.warning("%d of %d rankings do not fit the judge's context: not judged (None)", unfit, len(shown))
        samples = iter(self._sample(requests))
        return [merge_rankings(fmt, perm, next(samples)) if s.fits else None for perm, s in zip(perms, shown)]
