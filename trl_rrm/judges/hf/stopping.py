"""Decoding helpers: a stop-at-verdict criterion, a heartbeat that logs how far a long
batch has come, and the generations read from the tokens each row wrote.

(Per-row seeded sampling lives in ``trl_rrm.sampling``: the judge and the policy
sampler share it.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import torch

from ...thinking import THINK_OPEN, final_answer_text
from ..requests import Generation

logger = logging.getLogger(__name__)

# Seconds between two progress lines of one batch's decoding: a batch of 16 judgments of 256
# tokens took over 2 minutes on 2 cores without bf16, silent until it ended.
HEARTBEAT_SECONDS = 30.0


class StopAtStrings:
    """Generation stopping criterion: a row is done once the text it generated, after
    thinking, contains a stop string. ``stopped[i]`` is then row i's token count.

    Only the last few tokens are decoded at each step; the full text (to find the end of
    thinking) only when a stop string shows up there. Rows that already ended (EOS) are
    left to ``generate``.
    """

    def __init__(self, tokenizer: Any, stop: tuple[str, ...], width: int, opened_think: list[bool],
                 eos_ids: list[int]) -> None:  # fmt: skip
        self.tokenizer, self.stop, self.width, self.opened_think = tokenizer, stop, width, opened_think
        longest = max(len(tokenizer(s, add_special_tokens=False)["input_ids"]) for s in stop)
        self.tail = longest + 2  # a stop string may straddle token boundaries
        self.stopped: list[int | None] = [None] * len(opened_think)
        self.eos_ids = set(eos_ids)  # special_tokens.special_ids

    def __call__(self, input_ids: torch.Tensor, scores: Any = None, **kwargs: Any) -> torch.Tensor:
        done = [self.check(i, row) for i, row in enumerate(input_ids[:, self.width :].tolist())]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    def check(self, i: int, row: list[int]) -> bool:
        """Whether row i, having generated ``row``, is done (it stopped at ``len(row)`` now or before)."""
        if self.stopped[i] is None and not self.eos_ids.intersection(row):
            tail = self.tokenizer.decode(row[-self.tail :], skip_special_tokens=True)
            if any(s in tail for s in self.stop):
                opened = THINK_OPEN if self.opened_think[i] else ""
                final = final_answer_text(opened + self.tokenizer.decode(row, skip_special_tokens=True))
                if final is not None and any(s in final for s in self.stop):
                    self.stopped[i] = len(row)
        return self.stopped[i] is not None


class DecodeHeartbeat:
    """Generation stopping criterion that never stops a row: every ``HEARTBEAT_SECONDS``
    (at most) it logs how many tokens the batch has written, so a long batch shows that it
    is moving. Call it with the batch's ids (prompt and generated tokens) after each step."""

    def __init__(self, rows: int, width: int, budget: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rows, self.width, self.budget, self.clock = rows, width, budget, clock
        self.started = self.last = clock()

    def __call__(self, input_ids: torch.Tensor, scores: Any = None, **kwargs: Any) -> torch.Tensor:
        if self.due():
            logger.info("judge decoding a batch of %d: %d of %d tokens written, %.0f s",
                        self.rows, input_ids.shape[1] - self.width, self.budget, self.elapsed())  # fmt: skip
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    def due(self) -> bool:
        """Whether a progress line is due now (then the next one is due an interval later)."""
        now = self.clock()
        if now - self.last < HEARTBEAT_SECONDS:
            return False
        self.last = now
        return True

    def elapsed(self) -> float:
        """Seconds from the start to the last line that was due."""
        return self.last - self.started


def written_generations(tokenizer: Any, written: list[list[int]], stopped: list[int | None], eos_ids: list[int],
                        opened_think: list[bool]) -> list[Generation]:  # fmt: skip
    """Each row's ``Generation`` from the tokens it wrote: up to its stop string
    (``stopped[i]`` tokens) or its end-of-sequence token, whichever came first; anything
    after ignored. A ``<think>`` the chat template opened is put back in front."""
    generations = []
    for row, stop, opened in zip(written, stopped, opened_think):
        end = next((j for j, token in enumerate(row) if token in eos_ids), None)
        if stop is not None and (end is None or stop <= end):  # the verdict came first
            kept, tokens, finished = row[:stop], stop, True
        else:
            kept = row if end is None else row[:end]
            tokens, finished = len(kept) + (end is not None), end is not None
        text = tokenizer.decode(kept, skip_special_tokens=True)
        generations.append(Generation(THINK_OPEN + text if opened else text, tokens, finished))
    return generations
