"""OpenAIJudge: a generative judge served over HTTP by an OpenAI-compatible server.

When the judge outgrows the training accelerators, serve it with an inference engine
(vLLM, SGLang, ``transformers serve``; tensor parallel, several replicas) and judge over
HTTP. Formats, parsing, presentation orders, votes and forced answers are the same as
``HFJudge``'s (both are ``GenerativeJudge``); only ``generate`` differs::

    judge = OpenAIJudge(["http://judge-0:8000/v1", "http://judge-1:8000/v1"], model="my-org/rrm-7b",
                        both_orders=True, num_votes=3, max_new_tokens=2048, max_concurrency=64)
    judge.check()                         # a configuration error fails here, clearly
    verdicts = judge.compare(matches)     # or: await judge.acompare(matches)

How a call runs: every request of a ``compare``/``rank`` call (all matches, both orders,
all votes) becomes a ``POST /v1/chat/completions``; they run concurrently (at most
``max_concurrency`` in flight, at most ``requests_per_second`` started per second) and
each goes to the least-loaded server that is not resting after a failure. A votes
request asks for ``n`` samples at once where the server honours ``n`` (vLLM, SGLang),
otherwise one request per sample (``transformers serve`` ignores ``n``).

Failure semantics: timeouts, connection errors and 408/429/5xx answers are retried
``retries`` times with exponential backoff (on another server when there is one); a
request that still fails, or gets any other 4xx, yields empty samples, so its judgment
is a failed verdict (``parse_failure_rate`` / ``failed_match_rate`` in the reward's
metrics) and the reward None: training goes on. ``stats`` counts requests, retries and
failures. A *configuration* error, a server that is unreachable or does not serve
``model``, raises from ``check()``, which runs before the first judgment.

Untrusted text: the server tokenizes the prompt, so the judge cannot split special tokens
itself; it neutralises the control-token shapes of the common chat templates
(``COMMON_CONTROL_TOKENS``) and any strings listed in ``control_tokens`` (give your judge
tokenizer's special tokens for an exact defence), plus the format's structure.

Not supported: ``verdict="likelihood"``/``"direct"`` (they need token log-probabilities of
chosen labels; use ``HFJudge``), and ``GenerationRequest.stop`` (ignored: the judgment
runs to its end, which parses the same). ``verdict="forced"`` continues an assistant
message (``continue_final_message``), which vLLM and SGLang accept and ``transformers
serve`` does not; ``check()`` tells.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...formats.untrusted import COMMON_CONTROL_TOKENS, control_token_pattern
from ...types import Match, Ranking, Verdict
from ..config import GenerativeJudgeConfig, positive_int, post_init_chain
from ..engine import GenerativeJudge
from ..requests import Generation, GenerationRequest
from .http import JudgeServerError, Pacer, ServerPool, generations, run_sync, served_context

logger = logging.getLogger(__name__)
_PROBE = [{"role": "user", "content": "Reply with OK."}]


def _seconds(name: str, value: Any, minimum: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum or (minimum == 0 and value < 0):
        raise ValueError(f"{name}={value!r} must be a number of seconds {'> 0' if minimum else '>= 0'}")


@dataclass
class ServerConfig:
    """Where the judge is served and how requests are sent."""

    base_url: str | list[str] | None = field(
        default=None, metadata={"help": "OpenAI API root(s) of the judge server(s), e.g. http://host:8000/v1"}
    )
    model: str | None = field(default=None, metadata={"help": "the model name the servers serve the judge under"})
    api_key: str | None = field(default=None, metadata={"help": "sent as Authorization: Bearer <api_key>"})
    max_concurrency: int = field(default=32, metadata={"help": "requests in flight at once, over all servers"})
    timeout: float = field(default=600.0, metadata={"help": "seconds one request (a whole judgment) may take"})
    connect_timeout: float = field(default=10.0, metadata={"help": "seconds to open a connection"})
    retries: int = field(default=3, metadata={"help": "further attempts after a timeout, connection error, 408/429/5xx"})
    backoff: float = field(default=0.5, metadata={"help": "seconds before the first retry, doubled per retry (jitter)"})
    max_backoff: float = field(default=30.0, metadata={"help": "longest wait between two attempts"})
    requests_per_second: float | None = field(default=None, metadata={"help": "start at most this many requests a second"})
    n_per_request: bool | None = field(
        default=None, metadata={"help": "ask for all votes with one n= request (None: where the server honours n)"}
    )
    extra_body: dict[str, Any] | None = field(
        default=None, metadata={"help": "extra JSON fields for every chat request (e.g. vLLM's top_k)"}
    )
    control_tokens: list[str] | None = field(
        default=None, metadata={"help": "exact control-token strings of the served judge's tokenizer, to neutralise"}
    )

    def __post_init__(self) -> None:
        urls = [self.base_url] if isinstance(self.base_url, str) else self.base_url
        if not urls or not isinstance(urls, (list, tuple)):
            raise ValueError(f"base_url={self.base_url!r}: give a server URL such as 'http://127.0.0.1:8000/v1', or a list")
        for url in urls:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ValueError(f"base_url={url!r} must be an http:// or https:// URL")
        if len(set(urls)) != len(urls):
            raise ValueError(f"base_url={list(urls)!r} lists a server twice")
        self.base_url = list(urls) if len(urls) > 1 else urls[0]
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(f"model={self.model!r} must be the name the server serves the judge under")
        positive_int("max_concurrency", self.max_concurrency)
        _seconds("timeout", self.timeout, 1e-9)
        _seconds("connect_timeout", self.connect_timeout, 1e-9)
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries={self.retries!r} must be an integer >= 0")
        _seconds("backoff", self.backoff, 0)
        _seconds("max_backoff", self.max_backoff, 0)
        rps = self.requests_per_second
        if rps is not None and (isinstance(rps, bool) or not isinstance(rps, (int, float)) or not rps > 0):
            raise ValueError(f"requests_per_second={rps!r} must be a positive number (or None: no limit)")
        if self.extra_body is not None and not isinstance(self.extra_body, dict):
            raise ValueError(f"extra_body={self.extra_body!r} must be a dict of JSON fields")
        post_init_chain(self, ServerConfig)

    @property
    def urls(self) -> list[str]:
        """The servers' API roots, each ending in ``/v1``."""
        urls = [self.base_url] if isinstance(self.base_url, str) else list(self.base_url or [])
        return [u.rstrip("/") if u.rstrip("/").endswith("/v1") else u.rstrip("/") + "/v1" for u in urls]


@dataclass
class OpenAIJudgeConfig(ServerConfig, GenerativeJudgeConfig):
    """Everything that defines an ``OpenAIJudge``: ``ServerConfig`` + ``JudgingConfig`` +
    ``SpeedConfig``. ``verdict`` must be ``generate`` or ``forced`` (no token probabilities)."""

    def __post_init__(self) -> None:
        if self.verdict in ("likelihood", "direct"):
            raise ValueError(
                f"verdict={self.verdict!r} scores verdict labels by token log-probabilities, which "
                "OpenAIJudge does not read; use verdict='generate' or 'forced' (or HFJudge)"
            )
        super().__post_init__()


@dataclass
class _Unit:
    """One HTTP request: ``count`` samples of request ``index``, starting at sample ``start``."""

    index: int
    start: int
    count: int

class OpenAIJudge(GenerativeJudge):
    """A generative judge behind one or more OpenAI-compatible chat-completions servers.

    Args:
        base_url: a server's API root or a list of them (see ``OpenAIJudgeConfig``).
        model: the served model name.
        config: a full ``OpenAIJudgeConfig``; otherwise keyword arguments build one (any
            field: ``format``, ``both_orders``, ``num_votes``, ``max_new_tokens``,
            ``max_concurrency``, ``timeout``, ``retries``, ...).

    Example::

        judge = OpenAIJudge("http://127.0.0.1:8000/v1", model="judge", both_orders=True)
        judge.check()
        reward = AsyncRRMReward(judge, tournament="knockout", num_generations=8)

    The judge holds no connection between calls, so it pickles. ``stats`` counts
    ``requests`` (attempts), ``retries`` and ``failed_requests`` (requests that gave up);
    ``server_requests`` the attempts per server.

    Raises:
        ValueError: a bad argument, named with its value, at construction.
        JudgeServerError / ValueError: from ``check()`` (called before the first judgment):
            a server is unreachable (JudgeServerError), or does not serve ``model`` or
            rejects the judge's requests (ValueError).
    """

    def __init__(
        self,
        base_url: str | Sequence[str] | None = None,
        model: str | None = None,
        *,
        config: OpenAIJudgeConfig | None = None,
        **kwargs: Any,
    ) -> None:
        if config is None:
            urls = list(base_url) if isinstance(base_url, (list, tuple)) else base_url
            config = OpenAIJudgeConfig(base_url=urls, model=model, **kwargs)
        elif base_url is not None or model is not None or kwargs:
            raise TypeError("pass either config=... or base_url/model/keyword arguments, not both")
        super().__init__(config)
        self.config: OpenAIJudgeConfig = config
        self.urls = config.urls
        self.pool = ServerPool(self.urls, config)
        self.stats = self.pool.stats  # requests (attempts), retries, failed_requests
        self.server_requests = self.pool.server_requests  # attempts sent to each server
        self._checked = False
        self._honours_n: dict[str, bool] = {}
        self._context: dict[str, int | None] = {}
        extra = control_token_pattern(config.control_tokens or ())
        self._control = COMMON_CONTROL_TOKENS if extra is None else re.compile(f"{COMMON_CONTROL_TOKENS.pattern}|{extra.pattern}")

    def control_tokens(self) -> re.Pattern:
        return self._control

    def context_length(self) -> int | None:
        """The smallest context the servers serve ``model`` with (``max_model_len`` in
        vLLM's model list; learnt by the startup check, which runs now if it has not): a
        match whose prompt cannot fit is over-context, not sent. None when a server does
        not say (``transformers serve``): nothing is cut, and a server that refuses a long
        prompt fails that judgment. Prompt lengths are estimated (about 4 characters a
        token), as the server tokenizes."""
        if not self._checked:
            self.check()
        known = list(self._context.values())
        return None if not known or None in known else min(known)  # type: ignore[type-var]

    # ---- sync and async entry points -----------------------------------------
    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Generation]]:
        """Generates every request's samples over HTTP, concurrently; see the module doc."""
        return run_sync(self.agenerate(requests))

    def check(self) -> None:
        """Checks every server now (see ``acheck``)."""
        run_sync(self.acheck())

    async def acompare(self, matches: Sequence[Match]) -> list[Verdict]:
        """``compare`` without blocking the event loop: planning and parsing run in a
        worker thread, which judges over its own connections."""
        return await asyncio.to_thread(self.compare, matches)

    async def arank(self, matches: Sequence[Match]) -> list[Ranking | None]:
        """``rank`` without blocking the event loop (see ``acompare``)."""
        return await asyncio.to_thread(self.rank, matches)

    # ---- the startup check ----------------------------------------------------
    async def acheck(self) -> None:
        """Fails clearly on a configuration error, before any judgment.

        For each server: a one-token chat request for ``model`` (asking ``n=2`` when
        votes are used, to learn whether the server honours ``n``) and, for
        ``verdict="forced"``, a request that continues an assistant message.

        Raises:
            JudgeServerError: a server is unreachable or keeps answering 5xx / timing out.
            ValueError: a server does not serve ``model`` or rejects the request (4xx).
        """
        async with self.pool.client() as client:
            await asyncio.gather(*(self._check_server(client, url) for url in self.urls))
        self._checked = True

    async def _check_server(self, client: Any, url: str) -> None:
        body: dict[str, Any] = {"model": self.config.model, "messages": _PROBE, "max_tokens": 1}
        if self.config.num_votes > 1 and self.config.n_per_request is not False:
            body["n"] = 2
        data = await self.pool.probe(client, url, body, "a one-token chat request")
        self._honours_n[url] = len(data.get("choices") or []) >= 2
        self._context[url] = await served_context(client, url, self.config.model)
        if self.config.verdict == "forced":
            body = {
                "model": self.config.model,
                "messages": [*_PROBE, {"role": "assistant", "content": "O"}],
                "max_tokens": 1,
                "temperature": 0.0,
                "continue_final_message": True,
                "add_generation_prompt": False,
            }
            try:
                await self.pool.probe(client, url, body, "continuing an assistant message")
            except ValueError as err:
                raise ValueError(
                    f"verdict='forced' continues the judge's answer (continue_final_message), which the "
                    f"server at {url} does not accept (vLLM and SGLang do): {err}; use verdict='generate'"
                ) from None
        logger.info("judge server %s serves %r (n honoured: %s, context: %s)", url, self.config.model,
                    self._honours_n[url], self._context[url])  # fmt: skip

    # ---- generation ----------------------------------------------------------
    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[list[Generation]]:
        """Generates every request's samples concurrently over the servers.

        A sample whose request failed (after retries) is ``Generation("", 0, False)``:
        it parses as no verdict. Runs ``acheck()`` first on the judge's first call.
        """
        if not self._checked:
            await self.acheck()
        together = self.config.n_per_request
        if together is None:
            together = all(self._honours_n.get(url, False) for url in self.urls)
        units = []
        for index, request in enumerate(requests):
            if together:
                units.append(_Unit(index, 0, request.num_samples))
            else:
                units.extend(_Unit(index, s, 1) for s in range(request.num_samples))
        results: list[list[Generation | None]] = [[None] * r.num_samples for r in requests]
        semaphore = asyncio.Semaphore(self.config.max_concurrency)
        pacer = Pacer(self.config.requests_per_second)
        in_flight = [0] * len(self.urls)
        async with self.pool.client() as client:

            async def run(unit: _Unit) -> None:
                body = self._body(requests[unit.index], unit)
                data = await self.pool.post(client, body, semaphore, pacer, in_flight)
                samples = generations(data, unit.count, requests[unit.index].assistant_prefix)
                results[unit.index][unit.start : unit.start + unit.count] = samples

            await asyncio.gather(*(run(unit) for unit in units))
        return [list(samples) for samples in results]  # type: ignore[arg-type]

    def _body(self, request: GenerationRequest, unit: _Unit) -> dict[str, Any]:
        cfg = self.config
        body: dict[str, Any] = dict(cfg.extra_body or {})
        messages = list(request.messages)
        if request.assistant_prefix:
            messages.append({"role": "assistant", "content": request.assistant_prefix})
            body.update(continue_final_message=True, add_generation_prompt=False)
        greedy = request.greedy or cfg.temperature == 0
        body.update(
            model=cfg.model,
            messages=messages,
            max_tokens=request.max_new_tokens or cfg.max_new_tokens,
            temperature=0.0 if greedy else cfg.temperature,
            # a judgment's seed is a function of its prompt and sample index (servers with seeds)
            seed=request.seeds(cfg.seed)[unit.start] % (2**31),
        )
        if not greedy:
            body["top_p"] = cfg.top_p
        if unit.count > 1:
            body["n"] = unit.count
        return body


__all__ = ["JudgeServerError", "OpenAIJudge", "OpenAIJudgeConfig", "ServerConfig"]
