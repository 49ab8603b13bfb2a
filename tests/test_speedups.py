"""Every judge speedup is a switch; each must give the judgments it gives when off.

Tiny models built in code (fast tier). Greedy decoding, so equal means equal texts;
probabilities agree up to float rounding.
"""

from __future__ import annotations

import contextlib

import pytest
import torch

from trl_rrm import HFJudge, Match
from trl_rrm.judges import (
    Generation,
    GenerationRequest,
    GenerativeJudge,
    GenerativeJudgeConfig,
    JudgingConfig,
)
from trl_rrm.judges.hf import continuous, kv_cache
from trl_rrm.judges.hf.prefix_plan import plan_prefix
from trl_rrm.judges.hf.stopping import StopAtStrings
from trl_rrm.testing import end_rows_early

QUERY = "What is the sum of seventeen and twenty five? Show the steps. " * 2
# Two groups of three completions: six round-robin matches per group, with duplicates.
GROUPS = {
    QUERY: ["17 + 25 = 42", "It is 41.", "17 + 25 = 42"],
    "Name a prime number larger than ten.": ["11", "Twelve is prime.", "13 is prime, since nothing divides it."],
}
MATCHES = [
    Match(prompt, (completions[i], completions[j]))
    for prompt, completions in GROUPS.items()
    for i in range(3)
    for j in range(3)
    if i != j
]


def _judge(tiny_dir, **kwargs):
    kwargs = {"max_new_tokens": 10, "temperature": 0, "batch_size": 5, "both_orders": True, **kwargs}
    return HFJudge(tiny_dir, **kwargs)


@pytest.mark.parametrize("verdict", ["direct", "likelihood"])
def test_prefix_reuse_gives_the_same_probabilities(tiny_dir, verdict):
    plain = _judge(tiny_dir, verdict=verdict, prefix_reuse=False).compare(MATCHES)
    judge = _judge(tiny_dir, verdict=verdict, prefix_reuse=True)
    reused = judge.compare(MATCHES)
    assert judge.prefix_tokens_saved > 0
    assert [v.raw for v in reused] == [v.raw for v in plain]
    assert [v.p_first for v in reused] == pytest.approx([v.p_first for v in plain], abs=1e-5)
    assert [v.winner for v in reused] == [v.winner for v in plain]


def test_prefix_reuse_gives_the_same_generations(tiny_dir):
    judge = _judge(tiny_dir)
    requests = [GenerationRequest(judge.format.render(m.prompt, *m.responses), num_samples=2) for m in MATCHES]
    plain = _judge(tiny_dir, prefix_reuse=False).generate(requests)
    reused = judge.generate(requests)
    assert judge.prefix_tokens_saved > 0
    assert [[(g.text, g.tokens, g.finished) for g in gens] for gens in reused] == [
        [(g.text, g.tokens, g.finished) for g in gens] for gens in plain
    ]


def test_prefix_reuse_on_a_shared_base_adapter_judge(tiny_model_and_tokenizer):
    from peft import LoraConfig, get_peft_model

    model, tokenizer = tiny_model_and_tokenizer
    policy = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    results = []
    for reuse in (False, True):
        judge = HFJudge.from_model(policy, tokenizer, disable_adapters=True, verdict="direct", both_orders=True,
                                   prefix_reuse=reuse, batch_size=4)
        results.append([v.p_first for v in judge.compare(MATCHES)])
    assert results[1] == pytest.approx(results[0], abs=1e-5)


def test_length_bucketing_off_changes_nothing_but_the_order(tiny_dir):
    requests = [GenerationRequest([{"role": "user", "content": p}]) for p in ["hi", "a longer prompt " * 6, "x"]]
    on = _judge(tiny_dir, prefix_reuse=False).generate(requests)
    off = _judge(tiny_dir, prefix_reuse=False, length_bucketing=False).generate(requests)
    assert [g[0].text for g in on] == [g[0].text for g in off]


def test_stop_strings_cut_a_generation_right_after_the_string(tiny_dir):
    judge = _judge(tiny_dir, max_new_tokens=16, prefix_reuse=False)
    request = GenerationRequest([{"role": "user", "content": "Tell me about the weather."}])
    (full,) = judge.generate([request])[0]
    assert full.tokens >= 8, "the tiny model must write enough to cut"
    tokenizer = judge.tokenizer
    ids = tokenizer(full.text, add_special_tokens=False)["input_ids"]
    stop = tokenizer.decode(ids[3:5])  # a string the judge writes midway
    assert stop.strip()
    (cut,) = judge.generate([GenerationRequest(request.messages, stop=(stop,))])[0]
    assert stop in cut.text and full.text.startswith(cut.text)
    assert cut.tokens < full.tokens and cut.finished
    assert stop not in cut.text[: -1]  # stopped at the first occurrence, not later


def test_stop_waits_for_thinking_to_close(tiny_dir):
    judge = _judge(tiny_dir)
    tokenizer = judge.tokenizer
    verdict = judge.format.verdicts[0]
    criterion = StopAtStrings(tokenizer, (verdict,), width=1, opened_think=[True, False], eos_ids=[tokenizer.eos_token_id])

    def ids(text):
        return [0] + tokenizer(text, add_special_tokens=False)["input_ids"]

    rows = [ids(f"I might say {verdict}"), ids(f"I might say {verdict}")]
    width = max(map(len, rows))
    batch = torch.tensor([[0] * (width - len(r)) + r for r in rows])
    assert criterion(batch).tolist() == [False, True]  # row 0 is still inside <think>
    assert criterion.stopped[1] is not None and criterion.stopped[0] is None


def test_verdict_strings_parse():
    for name in ("rrm", "rm_r1", "rm_r1_distilled"):
        fmt = JudgingConfig(format=name).build_format()
        assert [fmt.parse(s) for s in fmt.verdicts] == [0, 1]
    assert JudgingConfig(format="principle").build_format().verdicts == ()


class ScriptedJudge(GenerativeJudge):
    """Writes verdicts from a script keyed by the response shown first (texts taken in
    turn), and logs every request it sees."""

    def __init__(self, script, **kwargs):
        super().__init__(GenerativeJudgeConfig(**kwargs))
        self.script, self.seen = script, []

    def generate(self, requests):
        self.seen.append(list(requests))
        out = []
        for request in requests:
            shown_first = request.messages[-1]["content"].split("### Assistant 1")[1].split("### Assistant 2")[0]
            queue = self.script[shown_first.strip()]
            out.append([Generation(queue.pop(0), 5, True) for _ in range(request.num_samples)])
        return out


def _box(n):
    return f"so \\boxed{{Assistant {n}}}"


def test_identical_requests_are_judged_once(tiny_dir):
    counted = {}
    for cache in (False, True):
        judge = _judge(tiny_dir, cache_identical=cache, prefix_reuse=False, verdict="forced", forced_answer_tokens=2)
        rows = []
        real = judge.generate
        judge.generate = lambda requests: rows.append(sum(r.num_samples for r in requests)) or real(requests)
        counted[cache] = (judge.compare(MATCHES), sum(rows))
    (plain, plain_rows), (cached, cached_rows) = counted[False], counted[True]
    assert cached_rows < plain_rows  # the duplicate completion of the first group was judged once
    assert [(v.winner, v.tie, v.raw) for v in cached] == [(v.winner, v.tie, v.raw) for v in plain]
    assert sum(v.tokens for v in cached) < sum(v.tokens for v in plain)  # a shared copy costs nothing


def test_identical_requests_in_direct_mode(tiny_dir):
    plain = _judge(tiny_dir, cache_identical=False, verdict="direct").compare(MATCHES)
    cached = _judge(tiny_dir, cache_identical=True, verdict="direct").compare(MATCHES)
    assert [v.p_first for v in cached] == pytest.approx([v.p_first for v in plain], abs=1e-6)


def test_adaptive_votes_stop_when_the_first_votes_agree():
    # order is fixed: one request per match
    script = {
        "agree": [_box(1), _box(1), _box(1), _box(2), _box(2)],
        "split": [_box(1), _box(2), _box(2), _box(1), _box(2)],
    }
    matches = [Match("q", ("agree", "b")), Match("q", ("split", "b"))]
    full = ScriptedJudge({k: list(v) for k, v in script.items()}, num_votes=5, order="fixed").compare(matches)
    judge = ScriptedJudge({k: list(v) for k, v in script.items()}, num_votes=5, order="fixed", adaptive_votes=True)
    adaptive = judge.compare(matches)
    assert [[r.num_samples for r in call] for call in judge.seen] == [[3, 3], [2]]
    assert adaptive[0].votes == (0, 0, 0) and adaptive[0].winner == full[0].winner == 0  # 3 of 5: decided
    assert adaptive[1].votes == full[1].votes and adaptive[1].winner == full[1].winner == 1
    assert full[0].share == 0.6 and adaptive[0].share == 1.0


def test_adaptive_votes_change_nothing_with_two_votes():
    script = {"agree": [_box(1), _box(1)]}
    judge = ScriptedJudge(script, num_votes=2, order="fixed", adaptive_votes=True)
    judge.compare([Match("q", ("agree", "b"))])
    assert [[r.num_samples for r in call] for call in judge.seen] == [[2]]


def test_stop_at_verdict_is_passed_to_the_backend():
    for on in (False, True):
        judge = ScriptedJudge({"agree": [_box(1)]}, order="fixed", stop_at_verdict=on)
        judge.compare([Match("q", ("agree", "b"))])
        assert judge.seen[0][0].stop == (judge.format.verdicts if on else ())


# ------------------------------------------------------------------ two-level prefix plan


def _plan(prompts, keep=1):
    return plan_prefix(prompts, keep)  # planning is pure: no model, no torch


def _check_plan(plan, prompts, keep):
    shared = plan.shared
    assert all(p[:shared] == prompts[0][:shared] for p in prompts)
    for cluster in plan.clusters:
        e = plan.extend[cluster[0]]
        assert len(cluster) >= 2 and e > 0 and all(plan.extend[r] == e for r in cluster)
        assert all(prompts[r][shared : shared + e] == prompts[cluster[0]][shared : shared + e] for r in cluster)
    in_cluster = {r for c in plan.clusters for r in c}
    assert all(plan.extend[r] == 0 for r in range(len(prompts)) if r not in in_cluster)
    assert all(len(p) - shared - e >= keep for p, e in zip(prompts, plan.extend))  # own positions kept


def test_prefix_plan_finds_the_groups_of_a_batch():
    system, a, b = list(range(100, 140)), list(range(200, 230)), list(range(300, 330))
    prompts = [system + a + [1, 2, 3], system + a + [4, 5], system + a + [6], system + b + [7, 8], system + b + [9]]
    plan = _plan(prompts)
    _check_plan(plan, prompts, 1)
    assert plan.shared == 40 and plan.clusters == [[0, 1, 2], [3, 4]] and plan.extend == [30] * 5
    assert plan.saved == 40 * 4 + 30 * 2 + 30 * 1
    assert plan.cost(prompts) == 40 + 2 * 30 + 5 * 3 < 40 + 5 * 33
    # Score mode: the last `keep` positions of every row stay with the row.
    plan = _plan(prompts, keep=2)
    _check_plan(plan, prompts, 2)
    # Nothing in common: no plan; the system prompt alone: one level.
    assert _plan([[1, 2, 3], [4, 5, 6]]) is None
    flat = _plan([system + [1], system + [2, 3]])
    assert flat.shared == 40 and flat.clusters == []


def test_prefix_plan_invariants_on_random_batches():
    import random

    rng = random.Random(0)
    for _ in range(300):
        system = [rng.randrange(3) for _ in range(rng.randrange(0, 40))]
        groups = [[rng.randrange(5) for _ in range(rng.randrange(0, 40))] for _ in range(rng.randrange(1, 4))]
        prompts = sorted(system + rng.choice(groups) + [rng.randrange(5) for _ in range(rng.randrange(1, 12))]
                         for _ in range(rng.randrange(2, 9)))
        keep = rng.choice([1, 1, 2])
        prompts = [p for p in prompts if len(p) >= keep] or [[0] * keep, [0] * keep]
        plan = _plan(prompts, keep)
        if plan is not None:
            _check_plan(plan, prompts, keep)
            assert plan.cost(prompts) <= len(prompts) * max(map(len, prompts))


@pytest.mark.parametrize("verdict", ["direct", "generate"])
def test_cluster_prefixes_give_the_same_judgments(tiny_dir, verdict, monkeypatch):
    import trl_rrm.judges.hf.runner as hf_module

    plans = []
    original = hf_module.plan_prefix

    def spy(prompts, keep=1):
        plan = original(prompts, keep)
        plans.append(plan)
        return plan

    monkeypatch.setattr(hf_module, "plan_prefix", spy)
    plain = _judge(tiny_dir, verdict=verdict, prefix_reuse=False, batch_size=12).compare(MATCHES)
    reused = _judge(tiny_dir, verdict=verdict, prefix_reuse=True, batch_size=12).compare(MATCHES)
    assert any(p is not None and p.clusters for p in plans)  # the second level was used
    assert [v.raw for v in reused] == [v.raw for v in plain]
    assert [v.p_first for v in reused] == pytest.approx([v.p_first for v in plain], abs=1e-5)


@pytest.mark.parametrize("prefix_reuse", [False, True])
def test_static_cache_gives_the_same_generations(tiny_dir, prefix_reuse):
    judge = _judge(tiny_dir, prefix_reuse=prefix_reuse, batch_size=12, continuous_decoding=False)
    requests = [GenerationRequest(judge.format.render(m.prompt, *m.responses)) for m in MATCHES]
    dynamic = _judge(tiny_dir, prefix_reuse=prefix_reuse, batch_size=12, static_cache=False,
                     continuous_decoding=False).generate(requests)  # fmt: skip
    static = judge.generate(requests)
    assert [[(g.text, g.tokens, g.finished) for g in gens] for gens in static] == [
        [(g.text, g.tokens, g.finished) for g in gens] for gens in dynamic
    ]


@pytest.mark.parametrize("continuous_decoding", [False, True])
@pytest.mark.parametrize("static_cache", [False, True])
def test_decode_attention_gives_the_same_generations(tiny_dir, continuous_decoding, static_cache):
    kwargs = {"batch_size": 5, "continuous_decoding": continuous_decoding, "static_cache": static_cache}
    judge = _judge(tiny_dir, **kwargs)
    requests = [GenerationRequest(judge.format.render(m.prompt, *m.responses)) for m in MATCHES]
    own = _judge(tiny_dir, decode_attention=False, **kwargs).generate(requests)
    assert _texts(judge.generate(requests)) == _texts(own)
    assert judge.model.config._attn_implementation == "sdpa"  # the model's own, back after the call


def test_decode_attention_computes_the_models_attention_over_written_positions(tiny_model_and_tokenizer):
    """Left-padded rows decode from a static cache with free room: the logits of each step
    are those of the model's own attention (SDPA), and the free room is not read."""
    from transformers import StaticCache

    from trl_rrm.judges.hf import attention
    from trl_rrm.judges.hf.kv_cache import cache_argument

    model, _ = tiny_model_and_tokenizer
    assert model.config.num_key_value_heads < model.config.num_attention_heads  # grouped heads
    ids = torch.randint(3, 100, (3, 9), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[0, :4] = mask[1, :1] = 0  # left padding

    def run(own: bool) -> tuple[list[torch.Tensor], list[int]]:
        cache, logits, widths = StaticCache(config=model.config, max_cache_len=20), [], []
        step_mask, token = mask, ids
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.no_grad(), (contextlib.nullcontext() if own else attention.judge_attention(model)):
            for step in range(4):
                out = model(input_ids=token, attention_mask=step_mask, position_ids=positions, **{cache_argument(model): cache})
                logits.append(out.logits[:, -1])
                token = out.logits[:, -1:].argmax(-1)
                step_mask = torch.cat([step_mask, step_mask.new_ones(3, 1)], 1)
                positions = positions[:, -1:] + 1
                widths.append(attention._last_width[1])
        return logits, widths

    own, _ = run(own=True)
    grouped, widths = run(own=False)
    for a, b in zip(own, grouped):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert widths[1:] == [10, 11, 12]  # the 9 prompt positions and each step's token, not the cache's 20


def test_static_cache_holds_the_prefilled_positions(tiny_model_and_tokenizer):
    from transformers import DynamicCache

    from trl_rrm.judges.hf.kv_cache import cache_argument
    from trl_rrm.judges.hf.kv_cache import static_cache as _static_cache

    model, tokenizer = tiny_model_and_tokenizer
    dynamic = DynamicCache()
    with torch.no_grad():
        model(input_ids=torch.tensor([[5, 6, 7, 8]] * 2), use_cache=True, **{cache_argument(model): dynamic})
    static = _static_cache(model, 10, dynamic)
    assert static is not None and int(static.get_seq_length()) == 4
    for layer, source in zip(static.layers, dynamic.layers):
        assert torch.equal(layer.keys[:, :, :4], source.keys) and not layer.keys[:, :, 4:].any()


def _texts(generations):
    return [[(g.text, g.tokens, g.finished) for g in gens] for gens in generations]


@pytest.mark.parametrize("sampled", [False, True])
@pytest.mark.parametrize("prefix_reuse", [False, True])
def test_continuous_decoding_gives_the_same_generations(tiny_model_and_tokenizer, sampled, prefix_reuse):
    model, tokenizer = tiny_model_and_tokenizer
    kwargs = {"max_new_tokens": 12, "temperature": 1.0 if sampled else 0.0, "batch_size": 12, "prefix_reuse": prefix_reuse,
              "continuous_decoding": False}  # fmt: skip
    probe = HFJudge.from_model(model, tokenizer, **kwargs)
    requests = [GenerationRequest(probe.format.render(m.prompt, *m.responses), num_samples=1 + sampled) for m in MATCHES]
    plain = []

    def apart() -> bool:  # rows end early, at different steps, and some run out
        plain[:] = HFJudge.from_model(model, tokenizer, **kwargs).generate(requests)
        lengths = {g.tokens for gens in plain for g in gens}
        return len(lengths) > 2 and max(lengths) == 12

    end_rows_early(model, tokenizer, [g.text for gens in probe.generate(requests) for g in gens], apart)

    dropped = []
    select = continuous.kept_rows
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(continuous, "kept_rows", lambda cache, keep: dropped.append(len(keep)) or select(cache, keep))
        compact = HFJudge.from_model(model, tokenizer, **{**kwargs, "continuous_decoding": True}).generate(requests)
    assert _texts(compact) == _texts(plain)
    assert dropped  # rows left the batch


@pytest.mark.parametrize("cache", ["static", "static-grown", "dynamic"])
@pytest.mark.parametrize("sampled", [False, True])
@pytest.mark.parametrize("prefix_reuse", [False, True])
def test_continuous_decoding_refills_the_batch_and_gives_the_same_generations(tiny_model_and_tokenizer, sampled,
                                                                              prefix_reuse, cache):  # fmt: skip
    """Static caches are given ROOM free positions (grown by copying when they run out:
    "static-grown" makes that every 3 steps); a dynamic cache grows by itself."""
    model, tokenizer = tiny_model_and_tokenizer
    kwargs = {"max_new_tokens": 12, "temperature": 1.0 if sampled else 0.0, "prefix_reuse": prefix_reuse}
    probe = HFJudge.from_model(model, tokenizer, batch_size=24, continuous_decoding=False, **kwargs)
    requests = [GenerationRequest(probe.format.render(m.prompt, *m.responses), num_samples=2) for m in MATCHES]
    plain = []

    def apart() -> bool:  # rows end early, at different steps, and some run out
        plain[:] = HFJudge.from_model(model, tokenizer, batch_size=24, continuous_decoding=False, **kwargs).generate(requests)
        lengths = {g.tokens for gens in plain for g in gens}
        return len(lengths) > 2 and max(lengths) == 12

    end_rows_early(model, tokenizer, [g.text for gens in probe.generate(requests) for g in gens], apart)
    joins, join, grown, grow = [], kv_cache.joined, [], kv_cache.with_room
    with pytest.MonkeyPatch.context() as patch:  # the scheduler calls joined through its module
        patch.setattr(continuous, "joined", lambda *a: joins.append(a[3].shape[0]) or join(*a))
        patch.setattr(continuous, "with_room", lambda *a: grown.append(type(a[1]).__name__) or grow(*a))
        if cache == "static-grown":
            patch.setattr(continuous, "ROOM", 3)
        decoded = HFJudge.from_model(model, tokenizer, batch_size=3, continuous_decoding=True,
                                     static_cache=cache != "dynamic", **kwargs).generate(requests)  # fmt: skip
    assert _texts(decoded) == _texts(plain)
    assert joins and all(1 <= n <= 2 for n in joins)  # waiting rows joined a running batch of 3
    # admissions hand a dynamic cache over to a static one; a static cache out of room is grown
    kinds = {"static": {"DynamicCache"}, "static-grown": {"DynamicCache", "StaticCache"}, "dynamic": set()}
    assert set(grown) == kinds[cache]


def test_continuous_decoding_stops_at_the_same_strings(tiny_model_and_tokenizer):
    model, tokenizer = tiny_model_and_tokenizer
    kwargs = {"max_new_tokens": 12, "temperature": 0.0, "batch_size": 12, "continuous_decoding": False}
    probe = HFJudge.from_model(model, tokenizer, **kwargs)
    prompts = [probe.format.render(m.prompt, *m.responses) for m in MATCHES]
    texts = [g.text for gens in probe.generate([GenerationRequest(p) for p in prompts]) for g in gens]
    stop = (texts[0][len(texts[0]) // 2 :][:2],)  # a string some rows write, somewhere in the middle
    requests = [GenerationRequest(p, stop=stop) for p in prompts]
    plain = HFJudge.from_model(model, tokenizer, **kwargs).generate(requests)
    compact = HFJudge.from_model(model, tokenizer, **{**kwargs, "continuous_decoding": True}).generate(requests)
    assert _texts(compact) == _texts(plain)
    refilled = HFJudge.from_model(model, tokenizer, **{**kwargs, "batch_size": 3, "continuous_decoding": True})
    assert _texts(refilled.generate(requests)) == _texts(plain)
    assert any(g.finished and g.tokens < 12 for gens in plain for g in gens)  # the stop string ended rows early


def test_the_decoding_heartbeat_logs_at_most_every_interval_and_stops_nothing(caplog):
    from trl_rrm.judges.hf.stopping import DecodeHeartbeat

    times = iter([0.0, 10.0, 31.0, 40.0, 62.0])
    beat = DecodeHeartbeat(4, 3, 8, clock=lambda: next(times))
    with caplog.at_level("INFO", logger="trl_rrm.judges.hf.stopping"):
        stops = [beat(torch.zeros((4, 3 + step), dtype=torch.long)) for step in (1, 2, 3, 4)]
    assert not any(bool(s.any()) for s in stops) and all(s.shape == (4,) for s in stops)
    assert [r.getMessage() for r in caplog.records] == [
        "judge decoding a batch of 4: 2 of 8 tokens written, 31 s",
        "judge decoding a batch of 4: 4 of 8 tokens written, 62 s",
    ]


@pytest.mark.parametrize("compact", [False, True])
def test_a_long_batch_logs_its_progress_and_decodes_the_same(tiny_model_and_tokenizer, compact, caplog, monkeypatch):
    import trl_rrm.judges.hf.stopping as decoding

    model, tokenizer = tiny_model_and_tokenizer
    kwargs = {"max_new_tokens": 6, "temperature": 0.0, "batch_size": 12, "continuous_decoding": compact}
    probe = HFJudge.from_model(model, tokenizer, **kwargs)
    requests = [GenerationRequest(probe.format.render(m.prompt, *m.responses)) for m in MATCHES]
    quiet = probe.generate(requests)
    monkeypatch.setattr(decoding, "HEARTBEAT_SECONDS", 0.0)  # a line after every step
    with caplog.at_level("INFO", logger="trl_rrm.judges.hf.stopping"):
        beating = HFJudge.from_model(model, tokenizer, **kwargs).generate(requests)
    assert _texts(beating) == _texts(quiet)
    lines = [r.getMessage() for r in caplog.records if r.name == "trl_rrm.judges.hf.stopping"]
    assert lines and all(line.startswith("judge decoding ") for line in lines)
    if compact:
        assert any(line.startswith("judge decoding 12 rows, 12 at a time: 0 done, 12 writing, 24 tokens") for line in lines)
    else:
        assert any(" 1 of 6 tokens written" in line for line in lines)

