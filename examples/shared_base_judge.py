"""A judge that is a LoRA adapter on the policy's own base weights.

    python examples/shared_base_judge.py            # tiny model built in code, seconds on CPU
    python examples/shared_base_judge.py --smollm2  # the embedded SmolLM2-135M-Instruct

The policy trains adapter "default"; the judge is adapter "judge" on the same base, so
the judge costs no second copy of the weights. ``HFJudge.from_model`` switches to the
judge adapter for each call and then restores the active adapter, trainable flags and
train/eval modes, so it can run inside a trainer's reward function. In a GRPOTrainer,
pass this PeftModel as ``model`` (no ``peft_config``) and call the judge from the reward.
"""

import argparse

import torch
from peft import LoraConfig, get_peft_model

from trl_rrm import HFJudge, Match

parser = argparse.ArgumentParser()
parser.add_argument("--smollm2", action="store_true", help="use the embedded SmolLM2-135M-Instruct")
args = parser.parse_args()

if args.smollm2:
    from trl_rrm.embedded import load_smollm2

    base, tokenizer = load_smollm2()
else:
    from trl_rrm.testing import build_tiny_model, build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    base = build_tiny_model(tokenizer)

policy = get_peft_model(base, LoraConfig(r=8, target_modules=["q_proj", "v_proj"]))
# A trained judge adapter would come from disk: HFJudge.from_model(policy, tokenizer, adapter="path/to/judge")
policy.add_adapter("judge", LoraConfig(r=8, target_modules=["q_proj", "v_proj"]))
policy.set_adapter("default")
policy.train()

judge = HFJudge.from_model(policy, tokenizer, adapter_name="judge", max_new_tokens=32, verdict="forced")
trainable_before = sorted(n for n, p in policy.named_parameters() if p.requires_grad)

verdicts = judge.compare([Match("What is 12 + 30?", ("12 + 30 = 42", "12 + 30 = 52"))])
print("verdict:", verdicts[0].winner, "votes:", verdicts[0].votes, "forced:", verdicts[0].forced)

assert list(policy.active_adapters) == ["default"], policy.active_adapters
assert policy.training
assert sorted(n for n, p in policy.named_parameters() if p.requires_grad) == trainable_before
print("policy adapter active and trainable again; judge adapter frozen:",
      not any(p.requires_grad for n, p in policy.named_parameters() if ".judge." in n))
with torch.no_grad():
    print("policy still generates:", tokenizer.decode(policy.generate(**tokenizer("Hi", return_tensors="pt"), max_new_tokens=5)[0]))
