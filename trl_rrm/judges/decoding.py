"""Decoding helpers for ``model.generate``: a stop-at-verdict criterion, and a heartbeat
that logs how far a long batch has come.

(Per-row seeded sampling lives in ``trl_rrm.sampling``: the judge and the policy
sampler share it.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import torch

from ..thinking import THINK_OPEN, final_answer_text

logger = logging.getLogger(__name__)

# Seconds between two progress lines of one batch's decoding: a batch of 16 judgments of 256
# tokens took over 2 minutes on 2 cores without bf16, silent until it ended.
HEARTBEAT_SECONDS = 30.0


def eos_ids_of(tokenizer: Any) -> list[int]:
    value = getattr(tokenizer, "eos_token_id", None)
    return [int(t) for t in (value if isinstance(value, (list, tuple)) else [value]) if t is not None]


class StopAtStrings:
    """Generation stopping criterion: a row is done once the text it generated, after
    thinking, contains a stop string. ``stopped[i]`` is then row i's token count.

    Only the last few tokens are decoded at each step; the full text (to find the end of
    thinking) only when a stop string shows up there. Rows that already ended (EOS) are
    left to ``generate``.
    """

    def __init__(self, tokenizer: Any, stop: tuple[str, ...], width: int, opened_think: list[bool]) -> None:
        self.tokenizer, self.stop, self.width, self.opened_think = tokenizer, stop, width, opened_think
        longest = max(len(tokenizer(s, add_special_tokens=False)["input_ids"]) for s in stop)
        self.tail = longest + 2  # a stop string may straddle token boundaries
        self.stopped: list[int | None] = [None] * len(opened_think)
        self.eos_ids = set(eos_ids_of(tokenizer))

    def __call__(self, input_ids: torch.Tensor, scores: Any = None, **kwargs: Any) -> torch.Tensor:
        generated = input_ids.shape[1] - self.width
        done = []
        for i, row in enumerate(input_ids[:, self.width :].tolist()):
            if self.stopped[i] is None and not self.eos_ids.intersection(row):
                tail = self.tokenizer.decode(row[-self.tail :], skip_special_tokens=True)
                if any(s in tail for s in self.stop):
                    opened = THINK_OPEN if self.opened_think[i] else ""
                    final = final_answer_text(opened + self.tokenizer.decode(row, skip_special_tokens=True))
                    if final is not None and any(s in final for s in self.stop):
                        self.stopped[i] = generated
            done.append(self.stopped[i] is not None)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class DecodeHeartbeat:
    """Generation stopping criterion that never stops a row: every ``HEARTBEAT_SECONDS``
    (at most) it logs how many tokens the batch has written, so a long batch shows that it
    is moving. Call it with the batch's ids (prompt and generated tokens) after each step."""

    def __init__(self, rows: int, width: int, budget: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rows, self.width, self.budget, self.clock = rows, width, budget, clock
        self.started = self.last = clock()

    def __call__(self, input_ids: torch.Tensor, scores: Any = None, **kwargs: Any) -> torch.Tensor:
        now = self.clock()
        if now - self.last >= HEARTBEAT_SECONDS:
            self.last = now
            logger.info("judge decoding a batch of %d: %d of %d tokens written, %.0f s",
                        self.rows, input_ids.shape[1] - self.width, self.budget, now - self.started)  # fmt: skip
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
