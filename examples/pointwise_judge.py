"""A pointwise judge: each response checked on its own, then used as a GRPO reward.

    python examples/pointwise_judge.py                 # SmolLM2 + the committed pointwise constraint judge
    python examples/pointwise_judge.py --adapter none  # the untrained base: no verdict, or flat groups
    python examples/pointwise_judge.py --tiny          # a tiny random model built in code (seconds)

``HFJudge(format="pointwise")`` shows the judge ONE response and reads ``\\boxed{yes}`` or
``\\boxed{no}`` after its analysis; ``grade`` returns a ``Grade`` per response (value 1.0
for yes, 0.0 for no, None without a verdict). ``RRMReward`` with such a judge judges each
distinct completion of a group once (the ``pointwise`` tournament) and returns the grades
as rewards; a group whose grades all agree is flat (zero advantage). With
``verdict="likelihood"`` the grade is P(yes) after the analysis instead.
"""

import argparse
from pathlib import Path

from trl_rrm import HFJudge, Match, RRMReward

ADAPTER = Path(__file__).resolve().parents[1] / "recipes" / "adapters" / "smollm2-constraint-judge-pointwise"

parser = argparse.ArgumentParser()
parser.add_argument("--tiny", action="store_true", help="a tiny random model built in code instead of SmolLM2")
parser.add_argument("--adapter", default=str(ADAPTER), help="LoRA judge adapter ('none': the bare base)")
parser.add_argument("--verdict", default="generate", choices=["generate", "forced", "likelihood", "direct"])
parser.add_argument("--max-new-tokens", type=int, default=192)
args = parser.parse_args()

if args.tiny:
    import tempfile

    from trl_rrm.testing import save_tiny_model

    model, adapter = str(save_tiny_model(Path(tempfile.mkdtemp()) / "tiny")), None
    args.max_new_tokens = min(args.max_new_tokens, 8)
else:
    from trl_rrm.embedded import smollm2_path

    model, adapter = str(smollm2_path()), None if args.adapter == "none" else args.adapter

judge = HFJudge(model, adapter=adapter, format="pointwise", verdict=args.verdict, temperature=0.0,
                max_new_tokens=args.max_new_tokens, dtype="auto")  # fmt: skip
prompt = "Write one sentence about the sea. End your answer with a question."
completions = [
    "The sea is calm and blue today, isn't it?",
    "The sea is calm and blue today.",
    "Have you ever watched the waves roll in at dawn?",
    "Waves crash on the shore all night long.",
]
grades = judge.grade([Match(prompt, (c,)) for c in completions])  # one batched call
for completion, grade in zip(completions, grades):
    print(f"{grade.value!s:>5}  {completion}")
    print("       " + (grade.rationale or "(no judgment)").replace("\n", "\n       ")[:600])

metrics: dict[str, float] = {}
reward = RRMReward(judge, num_generations=4)  # tournament: pointwise, the default for this judge
rewards = reward([prompt] * 4, completions, log_metric=metrics.__setitem__)
print("rewards:", rewards)
print("judged:", metrics["rrm_reward/grades"], "grades,", metrics["rrm_reward/judge_tokens"], "judge tokens")
