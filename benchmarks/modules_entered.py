"""How many project source files one reward call enters (issue 43's measure), as JSON.

    python benchmarks/modules_entered.py

Builds the tiny model in code (``trl_rrm.testing.save_tiny_model``, nothing downloaded),
wraps it in a default ``HFJudge`` and a default ``RRMReward``, calls the reward once to
warm up (loading, first-call caches), then calls it again on the same batch under a
``sys.setprofile`` hook (and ``threading.setprofile``, for worker threads) and counts the
distinct ``trl_rrm/**`` source files whose Python functions that second call entered.
Prints ``{"modules": N, "files": [...], "seconds": ...}``; runs in seconds on CPU.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install

PROMPTS = ["What is 2 + 3?", "Name a colour."]
COMPLETIONS = [["5", "6", "It is 5.", "five"], ["red", "blue", "green", "I like red."]]


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(1)
    import trl_rrm
    from trl_rrm import HFJudge, RRMReward
    from trl_rrm.testing import save_tiny_model

    package = Path(trl_rrm.__file__).resolve().parent
    prompts = [p for p, group in zip(PROMPTS, COMPLETIONS) for _ in group]
    completions = [c for group in COMPLETIONS for c in group]
    with tempfile.TemporaryDirectory() as tmp:
        reward = RRMReward(HFJudge(str(save_tiny_model(Path(tmp) / "model"))))
        reward(prompts, completions)  # warm-up: the model loads, caches fill

        entered: set[str] = set()

        def hook(frame, event, arg):
            if event == "call":
                entered.add(frame.f_code.co_filename)

        start = time.perf_counter()
        threading.setprofile(hook)
        sys.setprofile(hook)
        try:
            rewards = reward(prompts, completions)
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
    files = sorted(
        str(Path(name).resolve().relative_to(package.parent))
        for name in entered
        if Path(name).resolve().is_relative_to(package)
    )
    print(json.dumps({"modules": len(files), "files": files, "rewards": rewards, "seconds": round(seconds, 2)}, indent=1))


if __name__ == "__main__":
    main()
