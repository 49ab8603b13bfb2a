"""A judge's warm-start step against the bare forward + backward on the same rows.

    python benchmarks/train_step.py                   # SmolLM2-135M-Instruct (embedded), CPU
    python benchmarks/train_step.py --model tiny      # tiny model built in code (a quick check)

Rows: ``--batch`` constraint-judge pairs written by code, rendered by the judge
(``HFJudge.shown_messages``) with their code-written judgments (``judge_trace``), as
``recipes/train_judge.py`` trains them. Configurations, interleaved, best of ``--repeats``:

- ``bare``: ``model(input_ids, attention_mask, labels)`` (logits over the whole vocabulary
  at every position), backward, AdamW step;
- ``warm_start``: one step of ``trl_rrm.warm_start.train`` (the output head only at target
  positions, weighted loss, gradient clipping, the same optimizer), the rows' common
  prefix (the judge's system prompt) computed once;
- ``warm_start_prefix_per_row``: the same with ``share_prefix=False`` (every row whole).

Both with the same LoRA (rank ``--lora-r`` on the top ``--lora-layers`` layers, every
projection), and in bf16 autocast where the CPU computes bf16 natively
(``trl_rrm.precision``; ``--fp32`` turns it off). The issue's target: warm_start within
1.3x of bare.
"""

from __future__ import annotations

from _common import interleaved, model_path, parser, setup, table, write

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def judgments(n: int):
    from trl_rrm import Match, get_format
    from trl_rrm.inputs import builtin_tasks
    from trl_rrm.warm_start import Judgment

    c = builtin_tasks().constraints  # the checkout's toy task (recipes/tasks)
    pairs = c.templated_pairs(c.constraint_prompts(4 * n, "train", seed=7, types=list(c.TRAIN_TYPES)), seed=7)[:n]
    return [Judgment(Match(p.problem.prompt, (p.first, p.second)), c.judge_trace(p, get_format("rrm"))) for p in pairs]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8, help="rows per step")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-layers", type=int, default=16, help="LoRA on the top k layers")
    p.add_argument("--fp32", action="store_true", help="no bf16 autocast even where the CPU has it")
    args = p.parse_args()
    setup(args)
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trl_rrm import HFJudge
    from trl_rrm.precision import cpu_bf16_flags, cpu_computes_bf16, cpu_model_name
    from trl_rrm.special_tokens import special_ids
    from trl_rrm.warm_start import WarmStartConfig, batch_tensors, judgment_examples, shared_prefix, train

    path = model_path(args.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    bf16 = cpu_computes_bf16() and not args.fp32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16 if bf16 else torch.float32)
    layers = model.config.num_hidden_layers
    top = list(range(max(0, layers - args.lora_layers), layers))
    model = get_peft_model(model, LoraConfig(r=args.lora_r, lora_alpha=2 * args.lora_r, task_type="CAUSAL_LM",
                                             target_modules=PROJECTIONS, layers_to_transform=top))  # fmt: skip
    judge = HFJudge.from_model(model, tokenizer)
    examples = judgment_examples(judge, judgments(args.batch))
    pad_id = special_ids(model, tokenizer)[0]
    ids, attention, labels, _ = batch_tensors(examples, list(range(len(examples))), pad_id)
    params = [q for q in model.parameters() if q.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    model.train()

    def bare() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def warm_start(share_prefix: bool = True) -> None:
        config = WarmStartConfig(steps=1, batch_size=len(examples), bf16=bf16, log_every=1, share_prefix=share_prefix)
        train(model, examples, config, pad_id=pad_id, progress=lambda entry: None)

    steps = {"bare": bare, "warm_start": warm_start, "warm_start_prefix_per_row": lambda: warm_start(False)}
    times, _ = interleaved(args.repeats, steps)
    tokens = int(attention.sum())
    payload = {
        "cpu": {"model_name": cpu_model_name(), "bf16_flags": cpu_bf16_flags(), "bf16_autocast": bf16},
        "model_path": path, "rows": len(examples), "tokens": tokens, "padded_width": int(ids.shape[1]),
        "lora": {"r": args.lora_r, "layers": len(top)},
        "shared_prefix_tokens": shared_prefix(ids, labels),
        "seconds": times, "ratio_warm_start_to_bare": times["warm_start"] / times["bare"],
        "ratio_prefix_per_row_to_shared": times["warm_start_prefix_per_row"] / times["warm_start"],
    }  # fmt: skip
    rows = [[k, v, tokens / v] for k, v in times.items()]
    markdown = table(["step", "seconds", "tokens/s"], rows) + (
        f"\n\nwarm_start / bare: {payload['ratio_warm_start_to_bare']:.2f}; prefix per row / shared "
        f"({payload['shared_prefix_tokens']} tokens): {payload['ratio_prefix_per_row_to_shared']:.2f}"
    )
    write("train_step", args, payload, markdown)


if __name__ == "__main__":
    main()
