"""Judges for CLI tests, loaded with ``--judge tests._judges:<name>`` (a module:factory spec)."""

from __future__ import annotations

import os
import time

from trl_rrm.testing import NumberJudge


class SlowNumberJudge(NumberJudge):
    """NumberJudge sleeping ``TEST_JUDGE_DELAY`` seconds per call, so a test can kill a run midway;
    with ``TEST_JUDGE_GATE`` (a path), each call first waits until that file exists (at most 120 s),
    so a test holds a run mid-way exactly as long as it needs."""

    def compare(self, matches):
        gate, deadline = os.environ.get("TEST_JUDGE_GATE"), time.monotonic() + 120
        while gate and not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(float(os.environ.get("TEST_JUDGE_DELAY", "0") or 0))
        return super().compare(matches)


class CoinJudge(NumberJudge):
    """A sampling-like judge: each match's verdict is a seeded function of its content only."""

    def compare(self, matches):
        from trl_rrm.seeds import stable_seed
        from trl_rrm.types import Verdict

        self.judged += len(matches)
        return [Verdict(winner=stable_seed(7, m.prompt, *m.responses) & 1, votes=(0,), rationale="coin") for m in matches]
