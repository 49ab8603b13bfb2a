"""What the toy tasks share: a pair in a shown order, and the check that a trace's format is pairwise."""

from __future__ import annotations

from trl_rrm.formats import PAIRWISE_FORMATS, JudgeFormat, PairwiseFormat


class ShownPair:
    """A right and a wrong response in a fixed shown order (``first``, ``second``):
    ``label`` is 0 when the right one is shown first, 1 otherwise."""

    first: str
    second: str
    label: int

    @property
    def chosen(self) -> str:
        return self.first if self.label == 0 else self.second

    @property
    def rejected(self) -> str:
        return self.second if self.label == 0 else self.first


def check_pairwise(fmt: JudgeFormat) -> None:
    """Raises TypeError naming ``fmt`` unless it is a ``PairwiseFormat``: a judge trace of a
    pair names two responses and ends in the format's pairwise verdict."""
    if not isinstance(fmt, PairwiseFormat):
        raise TypeError(f"fmt={getattr(fmt, 'name', fmt)!r} has no pair trace; expected a pairwise format "
                        f"(trl_rrm.formats.get_format of one of {PAIRWISE_FORMATS})")  # fmt: skip
