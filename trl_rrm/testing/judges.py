"""Deterministic judges for tests and examples: no model, pure Python."""

from __future__ import annotations

# ------------------------------------------------------------------ deterministic judges


def _number(text: object) -> int | None:
    import re

    from ..formats import render_text

    found = re.findall(r"-?\d+", render_text(text))  # type: ignore[arg-type]
    return int(found[-1]) if found else None


class _Counting:
    """Counts calls and judged matches, so tests can check how work was split."""

    def __init__(self) -> None:
        self.judged = 0
        self.calls = 0

    def _count(self, matches) -> None:
        self.calls += 1
        self.judged += len(matches)


class NumberJudge(_Counting):
    """A deterministic judge for tests: the response whose last integer is larger wins.

    Equal numbers are a tie; a response without a number makes the match fail (None),
    as an unparseable judge output would. Counts what it judged, so tests can check how
    work was split. Has both ``compare`` (pairwise) and ``rank`` (listwise).
    """

    def compare(self, matches):
        from ..types import Verdict

        self._count(matches)
        verdicts = []
        for match in matches:
            a, b = (_number(r) for r in match.responses)
            if a is None or b is None:
                verdicts.append(Verdict(winner=None, votes=(None,), raw=("no number",)))
            elif a == b:
                verdicts.append(Verdict(winner=None, tie=True, votes=(0, 1), raw=("tie",), rationale="equal"))
            else:
                winner = int(b > a)
                verdicts.append(
                    Verdict(winner=winner, votes=(winner,), raw=(f"{max(a, b)} wins",), rationale=f"{max(a, b)} is larger")
                )
        return verdicts

    def rank(self, matches):
        from ..types import Ranking

        self._count(matches)
        rankings = []
        for match in matches:
            numbers = [_number(r) for r in match.responses]
            if None in numbers:
                rankings.append(None)
                continue
            order = tuple(sorted(range(len(numbers)), key=lambda i: -numbers[i]))
            rankings.append(Ranking(order=order, rationale="sorted by value"))
        return rankings


class SoftNumberJudge(NumberJudge):
    """``NumberJudge`` with soft verdicts: ``p_first`` = 0.5 + ``margin`` when the first
    response's number is larger, 0.5 - ``margin`` when smaller (a confident judge for
    ``margin`` near 0.5), an exact tie for equal numbers; no number: a failure."""

    def __init__(self, margin: float = 0.4) -> None:
        super().__init__()
        self.margin = margin

    def compare(self, matches):
        from dataclasses import replace

        verdicts = super().compare(matches)
        return [v if v.winner is None else replace(v, p_first=0.5 + self.margin * (1 - 2 * v.winner)) for v in verdicts]


class NoiseJudge(_Counting):
    """A judge that knows nothing, as an untrained one measured on the constraints task:
    both orders judged and always disagreeing (each prefers whichever response is shown
    first, ``position_bias`` 0.46), so ``p_first`` = 0.5 +- ``noise``, seeded by the
    match's content (identical across runs and processes)."""

    def __init__(self, noise: float = 0.003) -> None:
        super().__init__()
        self.noise = noise

    def compare(self, matches):
        from ..formats import render_text
        from ..seeds import seeded_rng
        from ..types import Verdict

        self._count(matches)
        verdicts = []
        for match in matches:
            key = "\x1f".join(render_text(x) for x in (match.prompt, *match.responses))
            p = 0.5 + seeded_rng("noise", key).uniform(-self.noise, self.noise)
            winner = None if p == 0.5 else int(p < 0.5)
            verdicts.append(Verdict(winner=winner, tie=winner is None, votes=(0, 1), p_first=p,
                                    order_agreement=False, position_bias=0.46, rationale="the first one"))  # fmt: skip
        return verdicts


class GradeNumberJudge(_Counting):
    """A deterministic pointwise judge for tests: a response's grade is its last integer
    divided by ``scale``, clipped to [0, 1]; a response without a number fails (None).
    ``soft`` marks the grades as probabilities (the floor's soft default then applies)."""

    def __init__(self, scale: float = 10.0, soft: bool = False) -> None:
        super().__init__()
        self.scale, self.soft = scale, soft

    def grade(self, matches):
        from ..types import Grade

        self._count(matches)
        grades = []
        for match in matches:
            (response,) = match.responses
            number = _number(response)
            if number is None:
                grades.append(Grade(None, votes=(None,), raw=("no number",)))
                continue
            value = min(max(number / self.scale, 0.0), 1.0)
            grades.append(Grade(value, votes=(value,), rationale=f"{number} of {self.scale:g}", raw=("graded",),
                                tokens=3, soft=self.soft))  # fmt: skip
        return grades


def reward_batch() -> tuple[list[str], list[str]]:
    """12 completions of 3 prompts (4 each, consecutive), numbers as quality."""
    prompts, completions = [], []
    for p, values in enumerate([(3, 9, 1, 5), (7, 2, 8, 4), (6, 6, 1, 3)]):
        for value in values:
            prompts.append(f"prompt {p}: give a number")
            completions.append(f"my answer is {value}")
    return prompts, completions
