"""The judge options as ``judge_*`` fields. GENERATED from HFLoadConfig, JudgingConfig,
HFSpeedConfig and ServerConfig by ``python -m trl_rrm.judges.flags.arguments``: do not edit;
change the configs and regenerate. ``JudgeArguments`` (``arguments.py``) adds what they do."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class JudgeFlags:
    """The fields of ``JudgeArguments``."""

    judge_model: str | None = field(
        default=None,
        metadata={'help': "judge model id or path ('embedded': the embedded SmolLM2-135M-Instruct; unset in a recipe: the policy's own base)", 'aliases': ['--judge']},
    )  # fmt: skip
    judge_adapter: str | None = field(
        default=None,
        metadata={'help': 'LoRA adapter id or path loaded on the model (PEFT)'},
    )  # fmt: skip
    judge_revision: str | None = field(
        default=None,
        metadata={'help': 'hub revision of the model'},
    )  # fmt: skip
    judge_load_in_4bit: bool = field(
        default=False,
        metadata={'help': 'quantize the judge base to 4-bit NF4 (bitsandbytes)'},
    )  # fmt: skip
    judge_load_in_8bit: bool = field(
        default=False,
        metadata={'help': 'quantize the judge base to 8-bit (bitsandbytes)'},
    )  # fmt: skip
    judge_dtype: str = field(
        default='auto',
        metadata={'help': "auto, float32, bfloat16 or float16; auto: on CPU bfloat16 where the CPU computes it natively (else float32), elsewhere the checkpoint's dtype", 'choices': ('auto', 'float32', 'bfloat16', 'float16')},
    )  # fmt: skip
    judge_device_map: str | None = field(
        default=None,
        metadata={'help': "from_pretrained device_map (e.g. 'auto')"},
    )  # fmt: skip
    judge_device: str | None = field(
        default=None,
        metadata={'help': 'device without a device_map (default: cuda if available)'},
    )  # fmt: skip
    judge_batch_size: int = field(
        default=16,
        metadata={'help': 'judge sequences run together (votes count each)'},
    )  # fmt: skip
    judge_trust_remote_code: bool = field(
        default=False,
        metadata={'help': 'allow model code from the hub'},
    )  # fmt: skip
    judge_attn_implementation: str | None = field(
        default=None,
        metadata={'help': 'e.g. sdpa, flash_attention_2'},
    )  # fmt: skip
    judge_format: str = field(
        default='rrm',
        metadata={'help': 'judge prompt format', 'choices': ('rrm', 'rm_r1', 'rm_r1_distilled', 'principle', 'pointwise', 'pointwise_score')},
    )  # fmt: skip
    judge_verdict: str = field(
        default='generate',
        metadata={'help': 'how a verdict is read: generate, forced, likelihood, direct', 'choices': ('generate', 'forced', 'likelihood', 'direct')},
    )  # fmt: skip
    judge_max_new_tokens: int = field(
        default=1024,
        metadata={'help': 'thinking budget per judgment (tokens)'},
    )  # fmt: skip
    judge_temperature: float = field(
        default=0.6,
        metadata={'help': 'judge sampling temperature; 0 decodes greedily'},
    )  # fmt: skip
    judge_top_p: float = field(
        default=1.0,
        metadata={'help': 'judge nucleus sampling'},
    )  # fmt: skip
    judge_num_votes: int = field(
        default=1,
        metadata={'help': 'judgments per presentation order; the majority decides'},
    )  # fmt: skip
    judge_both_orders: bool = field(
        default=False,
        metadata={'help': 'judge every pair in both orders; disagreement is a tie (pairwise formats)'},
    )  # fmt: skip
    judge_order: str = field(
        default='random',
        metadata={'help': "with one order: 'random' (seeded by content) or 'fixed' (as given)", 'choices': ('random', 'fixed')},
    )  # fmt: skip
    judge_seed: int = field(
        default=0,
        metadata={'help': 'seeds presentation orders, listwise shuffles and sampling'},
    )  # fmt: skip
    judge_forced_answer_tokens: int = field(
        default=8,
        metadata={'help': 'budget of a forced verdict (verdict=forced)'},
    )  # fmt: skip
    judge_system_prompt: str | None = field(
        default=None,
        metadata={'help': "your own system prompt (None: the format's)"},
    )  # fmt: skip
    judge_user_template: str | None = field(
        default=None,
        metadata={'help': 'your own user-turn template, with the placeholders'},
    )  # fmt: skip
    judge_strip_think: str = field(
        default='leading',
        metadata={'help': "remove a response's reasoning: leading, template, none", 'choices': ('leading', 'template', 'none')},
    )  # fmt: skip
    judge_escape_untrusted: bool = field(
        default=True,
        metadata={'help': "neutralise control tokens and the format's section lines/markers in queries and responses"},
    )  # fmt: skip
    judge_max_response_tokens: int | None = field(
        default=None,
        metadata={'help': 'cut each response to this many tokens (marked in the prompt); None: only what the context needs'},
    )  # fmt: skip
    judge_cache_identical: bool = field(
        default=True,
        metadata={'help': 'judge identical requests of one call once (duplicate completions); exact when greedy or direct'},
    )  # fmt: skip
    judge_stop_at_verdict: bool = field(
        default=False,
        metadata={'help': 'end a judgment at its first complete verdict (differs if a judge writes a second one)'},
    )  # fmt: skip
    judge_adaptive_votes: bool = field(
        default=False,
        metadata={'help': 'with num_votes > 2, sample a strict majority first and the rest only where they disagree'},
    )  # fmt: skip
    judge_prefix_reuse: bool = field(
        default=True,
        metadata={'help': 'compute the prompt prefix common to a batch, then to each run of rows, once (same texts; probabilities within float rounding)'},
    )  # fmt: skip
    judge_prefix_memory: bool = field(
        default=True,
        metadata={'help': "with prefix_reuse, keep the key/values of the prefix common to a batch for the next batches and calls, while the judge's weights, adapter and modes are unchanged (checked at each use; same texts); a judge on a model it does not own (from_model, the policy's) keeps them within one call only"},
    )  # fmt: skip
    judge_length_bucketing: bool = field(
        default=True,
        metadata={'help': 'without prefix_reuse, batch rows longest first'},
    )  # fmt: skip
    judge_static_cache: bool = field(
        default=True,
        metadata={'help': 'decode into a preallocated key/value cache written in place (once per batch with model.generate; with continuous_decoding, grown by copying every 32 steps) instead of one that copies itself to grow at every step (same texts)'},
    )  # fmt: skip
    judge_reuse_analysis_cache: bool = field(
        default=True,
        metadata={'help': "score the verdict labels (verdict=likelihood) from the key/values the analysis was written into, in the same batch, instead of computing prompt and analysis again (probabilities within float rounding; holds a copy of a batch's cache meanwhile)"},
    )  # fmt: skip
    judge_continuous_decoding: bool = field(
        default=True,
        metadata={'help': "continuous decoding: each row leaves the batch and its cache as soon as it ends, and the call's waiting rows take the freed places, batch_size at a time (same texts)", 'aliases': ['--judge_compact_decoding']},
    )  # fmt: skip
    judge_decode_attention: bool = field(
        default=True,
        metadata={'help': "on the CPU, single-token decoding steps attend with the query heads grouped on their key/value heads (one batched matmul, no copies of the cache) over the positions written so far, instead of the model's attention over the whole cache (texts equal up to float rounding; see docs/performance.md)"},
    )  # fmt: skip
    judge_compute_copy: bool = field(
        default=True,
        metadata={'help': 'a judge on a borrowed PEFT model (from_model) on the CPU judges on a copy with its adapter merged, in bf16 where the CPU computes it natively, while every weight it reads is frozen; checked before every call against a sum of every value and remade when one changed (verdicts within float rounding; see docs/performance.md)'},
    )  # fmt: skip
    judge_merge_adapter: bool = field(
        default=True,
        metadata={'help': 'a judge that loads its own weights merges its LoRA adapter into them once (one matmul a layer instead of three, no per-step casts of float32 adapter weights); verdicts within float rounding (see docs/performance.md); a judge from_model never merges'},
    )  # fmt: skip
    judge_base_url: list[str] | None = field(
        default=None,
        metadata={'help': 'OpenAI API root(s) of the judge server(s), e.g. http://host:8000/v1'},
    )  # fmt: skip
    judge_server_model: str | None = field(
        default=None,
        metadata={'help': 'the model name the servers serve the judge under'},
    )  # fmt: skip
    judge_api_key: str | None = field(
        default=None,
        metadata={'help': 'sent as Authorization: Bearer <api_key>'},
    )  # fmt: skip
    judge_max_concurrency: int = field(
        default=32,
        metadata={'help': 'requests in flight at once, over all servers'},
    )  # fmt: skip
    judge_timeout: float = field(
        default=600.0,
        metadata={'help': 'seconds one request (a whole judgment) may take'},
    )  # fmt: skip
    judge_retries: int = field(
        default=3,
        metadata={'help': 'further attempts after a timeout, connection error, 408/429/5xx'},
    )  # fmt: skip
