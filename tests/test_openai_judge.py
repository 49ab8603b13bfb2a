"""OpenAIJudge against real OpenAI-compatible servers on loopback (``transformers serve``).

No mock server: every HTTP test talks to a ``transformers serve`` subprocess on
127.0.0.1. The fast tier serves a tiny model built in code whose weights are set so
that, greedy, it answers every prompt with ``\\boxed{Assistant 1}`` (the layers' outputs
are zeroed, which leaves a bigram model: the next token depends on the current one
only, and the bigram table spells the verdict). So verdicts are real parses of real
server output, and deterministic. The model tier compares against HFJudge on SmolLM2.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="transformers serve needs the serving extra: pip install -e '.[dev]'")
httpx = pytest.importorskip("httpx2")

from trl_rrm import AsyncRRMReward, HFJudge, Match, OpenAIJudge, OpenAIJudgeConfig, RRMReward  # noqa: E402
from trl_rrm.judges.served.openai import JudgeServerError  # noqa: E402

VERDICT = "\\boxed{Assistant 1}"


# ---------------------------------------------------------------- servers and models
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``transformers serve MODEL`` on 127.0.0.1:port, started and stopped by the test."""

    def __init__(self, model: Path | str, port: int | None = None, log: Path | None = None) -> None:
        self.model, self.port = str(model), port or free_port()
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 180.0) -> Server:
        cli = Path(sys.executable).with_name("transformers")
        cmd = [str(cli)] if cli.exists() else [sys.executable, "-m", "transformers.cli.transformers"]
        env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_HUB_DISABLE_UPDATE_CHECK="1")
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [*cmd, "serve", self.model, "--host", "127.0.0.1", "--port", str(self.port), "--device", "cpu"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited with {self.proc.returncode}; log: {self.log}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"transformers serve did not answer /health within {timeout}s; log: {self.log}")

    def stop(self) -> None:
        """Kills the server as a crash would (SIGKILL), and waits for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self.proc = None


def save_verdict_model(path: Path, verdict: str = VERDICT) -> Path:
    """The tiny model, rewired to answer ``verdict`` then <|im_end|> to any chat prompt."""
    import torch

    from trl_rrm.testing import EOS_TOKEN, build_tiny_model, build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer)
    messages = [{"role": "user", "content": "x"}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    start = tokenizer(prompt, add_special_tokens=False)["input_ids"][-1]  # the "\n" after "assistant"
    answer = tokenizer(verdict, add_special_tokens=False)["input_ids"]
    chain = [start, *answer, tokenizer.convert_tokens_to_ids(EOS_TOKEN)]
    assert len(set(chain)) == len(chain), "the bigram chain needs distinct tokens"
    with torch.no_grad():
        for layer in model.model.layers:  # no attention or MLP output: the residual is the token's embedding
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        embed, head = model.model.embed_tokens.weight, model.lm_head.weight
        head.zero_()
        for i, (current, following) in enumerate(zip(chain, chain[1:])):
            embed[current].zero_()
            embed[current, i] = 1.0
            head[following, i] = 100.0
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def verdict_model(tmp_path_factory) -> Path:
    return save_verdict_model(tmp_path_factory.mktemp("verdict") / "model")


@pytest.fixture(scope="module")
def server(verdict_model, tmp_path_factory):
    srv = Server(verdict_model, log=tmp_path_factory.mktemp("logs") / "server.log").start()
    yield srv
    srv.stop()


def matches(n: int = 3) -> list[Match]:
    return [Match(f"What is {i} + {i}?", (f"{2 * i}", f"{2 * i + 1}")) for i in range(n)]


def judge_on(urls, model, **kwargs) -> OpenAIJudge:
    kwargs = {"order": "fixed", "temperature": 0.0, "max_new_tokens": 16, "retries": 1, "backoff": 0.05, **kwargs}
    return OpenAIJudge(urls, model=str(model), **kwargs)


# ---------------------------------------------------------------- configuration
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": None}, "base_url=None"),
        ({"base_url": "127.0.0.1:8000"}, "base_url='127.0.0.1:8000'"),
        ({"base_url": ["http://a/v1", "http://a/v1"]}, "lists a server twice"),
        ({"model": ""}, "model=''"),
        ({"max_concurrency": 0}, "max_concurrency=0"),
        ({"timeout": 0}, "timeout=0"),
        ({"timeout": "10"}, "timeout='10'"),
        ({"retries": -1}, "retries=-1"),
        ({"backoff": -0.1}, "backoff=-0.1"),
        ({"requests_per_second": 0}, "requests_per_second=0"),
        ({"extra_body": "top_k=5"}, "extra_body='top_k=5'"),
        ({"verdict": "likelihood"}, "verdict='likelihood'"),
        ({"verdict": "direct"}, "verdict='direct'"),
        ({"num_votes": 0}, "num_votes=0"),
    ],
)
def test_config_errors_name_the_field(kwargs, message):
    full = {"base_url": "http://127.0.0.1:8000/v1", "model": "judge", **kwargs}
    with pytest.raises(ValueError) as err:
        OpenAIJudgeConfig(**full)
    assert message in str(err.value)


def test_urls_are_api_roots():
    config = OpenAIJudgeConfig(base_url=["http://a:8000", "http://b:8000/v1/"], model="m")
    assert config.urls == ["http://a:8000/v1", "http://b:8000/v1"]
    with pytest.raises(TypeError):
        OpenAIJudge("http://a/v1", model="m", config=config)


def test_judge_pickles_and_is_an_async_reward():
    import pickle

    from trl.trainer.utils import is_async_callable

    judge = judge_on("http://127.0.0.1:9/v1", "m")
    assert pickle.loads(pickle.dumps(judge)).urls == ["http://127.0.0.1:9/v1"]
    assert is_async_callable(AsyncRRMReward(judge)) and not is_async_callable(RRMReward(judge))


def test_reading_a_multi_sample_answer():
    """The shape vLLM answers ``n=3`` with (transformers serve never does): choices,
    summed usage, thinking apart from the content, one sample cut by the budget."""
    from trl_rrm.judges.served.http import generations as _generations

    answer = {
        "choices": [
            {"index": 1, "message": {"content": "B", "reasoning_content": "think b"}, "finish_reason": "stop"},
            {"index": 0, "message": {"content": "A", "reasoning_content": None}, "finish_reason": "stop"},
            {"index": 2, "message": {"content": None}, "finish_reason": "length"},
        ],
        "usage": {"completion_tokens": 10},
    }
    a, b, c = _generations(answer, 3, prefix="")
    assert (a.text, a.finished) == ("A", True) and b.text == "<think>\nthink b\n</think>\n\nB"
    assert (c.text, c.finished) == ("", False) and a.tokens + b.tokens + c.tokens == 10
    # fewer samples than asked, or no answer at all: the missing ones are failures
    assert [g.text for g in _generations({"choices": answer["choices"][1:2]}, 2, "")] == ["A", ""]
    assert _generations(None, 2, "") == [_generations(None, 1, "")[0]] * 2


# ---------------------------------------------------------------- startup check
def test_check_fails_clearly_on_configuration_errors(server, verdict_model):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(JudgeServerError, match=f"base_url='{dead}' is unreachable"):
        judge_on(dead, verdict_model).check()
    with pytest.raises(JudgeServerError, match=f"base_url='{dead}'"):  # every server is checked
        judge_on([server.url, dead], verdict_model).check()
    with pytest.raises(ValueError, match="model='not-served'.*400"):
        judge_on(server.url, "not-served").check()
    # the first judgment runs the check: a misconfigured judge never judges
    with pytest.raises(ValueError, match="model='not-served'"):
        judge_on(server.url, "not-served").compare(matches(1))
    # transformers serve does not continue an assistant message, which forced answers need
    with pytest.raises(ValueError, match="verdict='forced'.*continue_final_message"):
        judge_on(server.url, verdict_model, verdict="forced").check()


# ---------------------------------------------------------------- judging over HTTP
def test_compare_over_http(server, verdict_model):
    judge = judge_on(server.url, verdict_model, num_votes=2, temperature=1.0)  # logits of 100: sure anyway
    verdicts = judge.compare(matches(3))
    assert [v.winner for v in verdicts] == [0, 0, 0]  # order="fixed": "Assistant 1" is responses[0]
    assert all(v.votes == (0, 0) and v.share == 1.0 and VERDICT in v.rationale for v in verdicts)
    assert all(v.tokens == 2 * 7 for v in verdicts)  # 6 verdict tokens + <|im_end|>, twice
    # transformers serve ignores n: the judge learnt it at check() and asked once per sample
    assert judge._honours_n == {server.url: False}
    assert judge.stats == {"requests": 6, "retries": 0, "failed_requests": 0}


def test_both_orders_and_async_compare(server, verdict_model):
    judge = judge_on(server.url, verdict_model, both_orders=True)
    verdicts = asyncio.run(judge.acompare(matches(2)))
    # the judge always names the first shown response: the orders disagree, a tie
    assert all(v.tie and v.winner is None and v.order_agreement is False for v in verdicts)


def test_same_judgments_as_hfjudge(server, verdict_model):
    settings = {"order": "random", "temperature": 0.0, "max_new_tokens": 16, "seed": 3}
    over_http = judge_on(server.url, verdict_model, **settings).compare(matches(4))
    in_process = HFJudge(str(verdict_model), **settings).compare(matches(4))
    assert [v.winner for v in over_http] == [v.winner for v in in_process]
    assert [v.raw for v in over_http] == [v.raw for v in in_process]
    assert {v.winner for v in over_http} == {0, 1}  # the seeded random order swapped some


def test_requests_are_spread_over_servers(server, verdict_model):
    # two URLs of the one server, so the test needs one process: each gets half
    alias = server.url.replace("127.0.0.1", "localhost")
    judge = judge_on([server.url, alias], verdict_model, max_concurrency=2)
    assert all(v.winner == 0 for v in judge.compare(matches(4)))
    assert judge.stats["requests"] == 4 and judge.stats["failed_requests"] == 0
    assert sorted(judge.server_requests.values()) == [2, 2]


# ---------------------------------------------------------------- faults
def test_server_stopped_mid_run_gives_none_then_recovers(server, verdict_model, tmp_path):
    """A run whose judge server dies between two reward calls and comes back."""
    flaky = Server(verdict_model, log=tmp_path / "flaky.log").start()
    try:
        prompts, completions = [], []
        for p in range(2):
            for c in range(4):
                prompts.append(f"prompt {p}")
                completions.append(f"answer {c}")
        judge = judge_on(flaky.url, verdict_model)
        reward = AsyncRRMReward(judge, tournament="round_robin", num_generations=4)
        both = judge_on([flaky.url, server.url], verdict_model)
        both.check()

        def step() -> tuple[list[float | None], dict[str, float]]:
            logged: dict[str, float] = {}
            rewards = asyncio.run(
                reward(prompts=prompts, completions=completions, log_metric=lambda k, v: logged.__setitem__(k, v))
            )
            return rewards, logged

        rewards, metrics = step()
        assert None not in rewards and metrics["rrm_reward/failed_match_rate"] == 0.0

        flaky.stop()
        rewards, metrics = step()  # the run goes on: every reward None, and the metrics say why
        assert rewards == [None] * 8
        assert metrics["rrm_reward/failed_match_rate"] == 1.0 and metrics["rrm_reward/parse_failure_rate"] == 1.0
        assert metrics["rrm_reward/none_reward_rate"] == 1.0
        assert judge.stats["failed_requests"] == 12 and judge.stats["retries"] == 12  # 2 groups x 6 pairs
        # with a second server, the failed requests are retried there: no verdict lost
        assert all(v.winner == 0 for v in both.compare(matches(3)))
        assert both.stats["retries"] >= 1 and both.stats["failed_requests"] == 0

        flaky.start()  # the same port: judging recovers without a new judge
        rewards, metrics = step()
        assert None not in rewards and metrics["rrm_reward/failed_match_rate"] == 0.0
    finally:
        flaky.stop()


def test_timeouts_are_retried_then_none(server, verdict_model):
    # a budget the tiny server cannot meet in 1 ms: every attempt times out
    judge = judge_on(server.url, verdict_model, timeout=0.001, retries=2)
    judge._checked = True  # the check itself would time out: this tests the judging path
    verdicts = judge.compare(matches(2))
    assert all(v.failed for v in verdicts)
    assert judge.stats == {"requests": 6, "retries": 4, "failed_requests": 2}


# ---------------------------------------------------------------- the real small model
@pytest.mark.model
def test_smollm2_served_matches_hfjudge(tmp_path):
    from trl_rrm.embedded import smollm2_path

    path = smollm2_path()
    srv = Server(path, log=tmp_path / "smollm2.log").start()
    try:
        settings = {"order": "fixed", "temperature": 0.0, "max_new_tokens": 24}
        pairs = [Match("What is 17*3?", ("17*3 = 51", "17*3 = 41")), Match("Say hi", ("Hi!", "Go away."))]
        over_http = judge_on(srv.url, path, **settings).compare(pairs)
        in_process = HFJudge(str(path), **settings).compare(pairs)
        assert [v.raw for v in over_http] == [v.raw for v in in_process]
        assert all(v.tokens > 0 for v in over_http)
    finally:
        srv.stop()


def test_the_served_context_is_read_from_the_model_list():
    """vLLM lists ``max_model_len`` on the base's card; a LoRA adapter's card names the
    base as ``parent``. A server that does not say gives None (nothing cut to fit)."""
    import asyncio

    from trl_rrm.judges.served.http import served_context

    cards = [{"id": "base", "max_model_len": 2048}, {"id": "judge", "parent": "base"}, {"id": "odd", "max_model_len": True}]

    def answer(request):
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": cards})
        return httpx.Response(404)

    async def read(model, handler=answer):
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await served_context(client, "http://judge:8000/v1", model)

    assert [asyncio.run(read(m)) for m in ("base", "judge", "odd", "other")] == [2048, 2048, None, None]
    assert asyncio.run(read("base", lambda request: httpx.Response(500, text="down"))) is None
