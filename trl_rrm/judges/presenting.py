"""From a match to what the judge is shown: untrusted texts made safe, and made to fit.

Every text in a match came from a dataset or a policy, and in RL the policy is optimised
against the judge: it is untrusted. Before it reaches a judge prompt:

1. reasoning is removed from responses (the format's ``strip_think``, from
   ``JudgingConfig.strip_think``);
2. control-token strings and the format's own section lines and verdict markers are
   neutralised (``escape_untrusted``; ``trl_rrm.formats.untrusted``), in the query, the
   responses and the principle. Steps 1 and 2 are the format's ``shown_texts``, the
   same function ``format.render`` uses;
3. responses are cut to fit (``max_response_tokens``, and what the judge's context leaves
   after the rest of the prompt and the thinking budget), each cut marked in the prompt
   and counted; a match that still cannot fit is not judged (``Shown.fits`` is False).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..formats import JudgeFormat
from ..types import Match, Message

CUT_MARKER = "\n[... {n} more tokens of this response are not shown ...]"
# Tokens kept free per response for the cut marker, and the least worth showing.
_MARKER_ROOM = 24
_MIN_SHOWN = 16


@dataclass(frozen=True)
class Shown:
    """A match as the judge sees it (responses in match order)."""

    query: str
    responses: tuple[str, ...]
    principle: str | None
    cut: int = 0
    fits: bool = True


class Presenter:
    """Prepares matches for one judge (see the module doc).

    Args:
        fmt: the judge's format (its ``shown_texts`` and ``messages``).
        backend: the judge: ``control_tokens()``, ``context_length()``, ``measure(prompts,
            texts)`` (a batch's measurements in one call), ``cut_text(text, n)``.
        escape: neutralise untrusted text (with the backend's control tokens).
        max_response_tokens: a fixed cut per response (None: only what the context needs).
        room: tokens the judge's answer needs after the prompt.
    """

    def __init__(
        self,
        fmt: JudgeFormat,
        backend: Any,
        *,
        escape: bool,
        max_response_tokens: int | None,
        room: int,
    ) -> None:
        self.fmt, self.backend, self.escape = fmt, backend, escape
        self.max_response_tokens, self.room = max_response_tokens, room

    def show(self, matches: Sequence[Match]) -> list[Shown]:
        tokens = self.backend.control_tokens() if self.escape else None
        shown = [Shown(*self.fmt.shown_texts(m.prompt, m.responses, m.principle, tokens)) for m in matches]
        return self._fit(shown)

    def _fit(self, shown: list[Shown]) -> list[Shown]:
        """Cuts responses to their budget; marks matches that cannot fit."""
        context = self.backend.context_length()
        if context is None and self.max_response_tokens is None:
            return shown
        limits: list[int | None] = [self.max_response_tokens] * len(shown)
        # one measurement for the batch: the prompt without its responses, once per distinct
        # (query, principle, count), and every distinct response
        keys = list({(s.query, s.principle, len(s.responses)): None for s in shown}) if context is not None else []
        texts = sorted({r for s in shown for r in s.responses})
        lengths, tokens = self.backend.measure([self._bare_messages(*key) for key in keys], texts)
        bare, counts = dict(zip(keys, lengths)), dict(zip(texts, tokens))
        if context is not None:
            for i, s in enumerate(shown):
                share = (context - self.room - bare[(s.query, s.principle, len(s.responses))]) // len(s.responses)
                share -= _MARKER_ROOM + share // 32  # a cut text can re-tokenize longer in context
                if share < _MIN_SHOWN:
                    shown[i] = Shown(s.query, s.responses, s.principle, fits=False)
                    limits[i] = None
                elif limits[i] is None or share < limits[i]:
                    limits[i] = share
        out = []
        for s, limit in zip(shown, limits):
            if limit is None or not s.fits:
                out.append(s)
                continue
            responses, cut = [], 0
            for r in s.responses:
                if counts[r] > limit:
                    r = self.backend.cut_text(r, limit) + CUT_MARKER.format(n=counts[r] - limit)
                    cut += 1
                responses.append(r)
            out.append(Shown(s.query, tuple(responses), s.principle, cut))
        return out

    def _bare_messages(self, query: str, principle: str | None, n: int) -> list[Message]:
        return self.fmt.messages(query, [""] * n, principle)
