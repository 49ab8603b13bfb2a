"""Instruction constraints: short requests with constraints that code verifies exactly.

The task of the end-to-end proof. A request about an everyday topic carries one (or two)
constraints of the kind IFEval checks: "Write one sentence about rainy days. Include the
word 'purple'." Judging whether a text satisfies a constraint is easier than writing one
that does, so a small judge can be trained to verify it, and a policy can then be
post-trained with that judge's reward and no labels; the checkers only *measure*.

- ``text``: what the checkers measure (words, sentences, bullets, endings), defined exactly.
- ``catalog``: the constraint types (``TYPES``) and ``TRAIN_TYPES`` / ``HELD_OUT_TYPES``.
- ``conflicts``: the combinations no text can satisfy (``conflict``, ``combinable``).
- ``prompts``: topics, requests, the ``train`` / ``test`` / ``test_types`` splits.
- ``scoring``: the ground-truth GRPO reward, satisfaction rates, a policy's held-out satisfaction.
- ``templated`` and ``pairs``: responses written by code, judge pairs and judge traces;
  ``evidence``: what a trace quotes or counts before each check.

How often SmolLM2-135M-Instruct (the embedded model, chat template, 32 new tokens) meets
one constraint, sampled at temperature 1.0 (32 prompts per type) / greedy (24 prompts),
measured 2026-11 with the partial credit of the sampled ones where a type has one:

    trained:  title .78/1.00  sentences .50/.58 (credit .74)  no_commas .44/.29
              include_word .41/.42  include_number .34/.75  max_words .28/.38 (credit .69)
              end_question .28/.12  bullets .16/.04 (.27)  start_with .12/.58
              lowercase 0/0 (credit .90)  quoted 0/0  json_key 0/0
    held out: avoid_word .88/.62  no_digits .81/.88  min_words .69/.88  lines .22/.33 (.59)
              capitals .03/.08  end_with .03/.12  end_exclamation 0/.08

GRPO learns from groups with both outcomes, so a policy's training mix takes the types in
between (``types=`` of ``constraint_prompts``); the rare ones still train and test judges
through ``templated_pairs``.

    prompts = constraint_prompts(256, "train", seed=0)         # training draws
    held_out = evaluation_prompts("test")                        # 384 prompts, unseen topics
    new_types = evaluation_prompts("test_types")                 # 224 prompts, unseen types
    rows = dataset_rows(prompts)                                 # prompt + constraints (JSON)
    rewards = constraint_reward(completions, constraints=[r["constraints"] for r in rows])
    pairs = judge_pairs(prompts, samples, seed=0) + templated_pairs(prompts, seed=0)
    train, held_out = judge_data(model, tokenizer, per_type=50)  # a judge's data, cached
    judge_trace(pairs[0], get_format("rrm"))         # evidence, then each check, then the verdict
"""

from .catalog import (
    HELD_OUT_TYPES,
    TRAIN_TYPES,
    TYPES,
    Constraint,
    ConstraintType,
)
from .conflicts import combinable, conflict
from .evidence import WALK_LIMIT, evidence
from .judge_data import TRAINING_ATTACKS, attacked_pairs, check_attacks, judge_data, load_pairs, save_pairs
from .pairs import (
    JudgePair,
    decisive_spans,
    judge_pairs,
    judge_trace,
    response_trace,
    same_outcome_pairs,
    templated_pairs,
)
from .prompts import (
    TOPICS,
    ConstraintPrompt,
    as_constraint_prompt,
    constraint_prompts,
    dataset_rows,
    evaluation_prompts,
    held_out_topic,
    split_topics,
)
from .scoring import (
    constraint_credit_reward,
    constraint_reward,
    policy_satisfaction,
    satisfaction,
)

__all__ = [
    "HELD_OUT_TYPES",
    "TOPICS",
    "TRAINING_ATTACKS",
    "WALK_LIMIT",
    "TRAIN_TYPES",
    "TYPES",
    "Constraint",
    "ConstraintPrompt",
    "ConstraintType",
    "JudgePair",
    "as_constraint_prompt",
    "attacked_pairs",
    "check_attacks",
    "combinable",
    "conflict",
    "constraint_credit_reward",
    "constraint_prompts",
    "constraint_reward",
    "dataset_rows",
    "decisive_spans",
    "evaluation_prompts",
    "evidence",
    "held_out_topic",
    "judge_data",
    "judge_pairs",
    "judge_trace",
    "response_trace",
    "load_pairs",
    "policy_satisfaction",
    "satisfaction",
    "same_outcome_pairs",
    "save_pairs",
    "split_topics",
    "templated_pairs",
]
