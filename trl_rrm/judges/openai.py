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

Not supported: ``verdict="likelihood"``/``"direct"`` (they need token log-probabilities of
chosen labels; use ``HFJudge``), and ``GenerationRequest.stop`` (ignored: the judgment
runs to its end, which parses the same). ``verdict="forced"`` continues an assistant
message (``continue_final_message``), which vLLM and SGLang accept and ``transformers
serve`` does not; ``check()`` tells.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..types import Match, Ranking, Verdict
from .base import Generation, GenerationRequest, GenerativeJudge, JudgingConfig, positive_int, stable_seed

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Answers worth another try: the server is busy, overloaded, restarting or broken for now.
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_PROBE = [{"role": "user", "content": "Reply with OK."}]


@dataclass
class OpenAIJudgeConfig(JudgingConfig):
    """Everything that defines an ``OpenAIJudge``: the servers, then judging (``JudgingConfig``).

    Attributes:
        base_url: the server's OpenAI API root (``http://host:8000/v1``; ``/v1`` is added
            when missing), or a list of them: requests are spread over all.
        model: the model name the servers serve (vLLM: ``--served-model-name`` or the
            model id; ``transformers serve``: the id or path it was started with).
        api_key: sent as ``Authorization: Bearer <api_key>`` (vLLM ``--api-key``).
        max_concurrency: requests in flight at once, over all servers.
        timeout: seconds one request may take (a whole judgment) before it is retried.
        connect_timeout: seconds to open a connection.
        retries: further attempts after a timeout, connection error or 408/429/5xx.
        backoff: seconds before the first retry; doubled for each next one (with jitter),
            at most ``max_backoff``. A 429's ``Retry-After`` is honoured. A server that
            failed is avoided for that long.
        max_backoff: longest wait between two attempts.
        requests_per_second: at most this many requests started per second (a rate
            limit of a hosted endpoint); None: no limit.
        n_per_request: ask for all votes of a request with one ``n=`` request. None:
            where ``check()`` saw the server honour ``n``.
        extra_body: extra JSON fields for every chat request (e.g. vLLM's ``top_k``,
            ``chat_template_kwargs``); the judge's own fields win.
    """

    base_url: str | list[str] | None = None
    model: str | None = None
    api_key: str | None = None
    max_concurrency: int = 32
    timeout: float = 600.0
    connect_timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0
    requests_per_second: float | None = None
    n_per_request: bool | None = None
    extra_body: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.verdict in ("likelihood", "direct"):
            raise ValueError(
                f"verdict={self.verdict!r} scores verdict labels by token log-probabilities, which "
                "OpenAIJudge does not read; use verdict='generate' or 'forced' (or HFJudge)"
            )
        urls = [self.base_url] if isinstance(self.base_url, str) else self.base_url
        if not urls or not isinstance(urls, (list, tuple)):
            raise ValueError(
                f"base_url={self.base_url!r}: give a server URL such as 'http://127.0.0.1:8000/v1', or a list"
            )
        for url in urls:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ValueError(f"base_url={url!r} must be an http:// or https:// URL")
        if len(set(urls)) != len(urls):
            raise ValueError(f"base_url={list(urls)!r} lists a server twice")
        self.base_url = list(urls) if len(urls) > 1 else urls[0]
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(f"model={self.model!r} must be the name the server serves the judge under")
        positive_int("max_concurrency", self.max_concurrency)
        for name in ("timeout", "connect_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name}={value!r} must be a positive number of seconds")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries={self.retries!r} must be an integer >= 0")
        for name in ("backoff", "max_backoff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name}={value!r} must be a number of seconds >= 0")
        rps = self.requests_per_second
        if rps is not None and (isinstance(rps, bool) or not isinstance(rps, (int, float)) or not rps > 0):
            raise ValueError(f"requests_per_second={rps!r} must be a positive number (or None: no limit)")
        if self.extra_body is not None and not isinstance(self.extra_body, dict):
            raise ValueError(f"extra_body={self.extra_body!r} must be a dict of JSON fields")

    @property
    def urls(self) -> list[str]:
        """The servers' API roots, each ending in ``/v1``."""
        urls = [self.base_url] if isinstance(self.base_url, str) else list(self.base_url or [])
        return [u.rstrip("/") if u.rstrip("/").endswith("/v1") else u.rstrip("/") + "/v1" for u in urls]


class JudgeServerError(ConnectionError):
    """A judge server is unreachable, or answers with an error, when ``check()`` runs."""


@dataclass
class _Unit:
    """One HTTP request: ``count`` samples of request ``index``, starting at sample ``start``."""

    index: int
    start: int
    count: int


class _Pacer:
    """Spaces request starts at least ``1 / rate`` seconds apart (one event loop)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            delay = self.next - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.next = max(self.next, time.monotonic()) + self.interval


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
        self.stats = {"requests": 0, "retries": 0, "failed_requests": 0}
        self.server_requests = dict.fromkeys(self.urls, 0)  # attempts sent to each server
        self._checked = False
        self._honours_n: dict[str, bool] = {}
        self._resting_until = [0.0] * len(self.urls)  # a failed server is avoided until then
        self._failures = [0] * len(self.urls)
        self._turn = 0

    # ---- sync and async entry points -----------------------------------------
    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Generation]]:
        """Generates every request's samples over HTTP, concurrently; see the module doc."""
        return _run(self.agenerate(requests))

    def check(self) -> None:
        """Checks every server now (see ``acheck``)."""
        _run(self.acheck())

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
        async with self._client() as client:
            await asyncio.gather(*(self._check_server(client, url) for url in self.urls))
        self._checked = True

    async def _check_server(self, client: Any, url: str) -> None:
        body: dict[str, Any] = {"model": self.config.model, "messages": _PROBE, "max_tokens": 1}
        if self.config.num_votes > 1 and self.config.n_per_request is not False:
            body["n"] = 2
        data = await self._probe(client, url, body, "a one-token chat request")
        self._honours_n[url] = len(data.get("choices") or []) >= 2
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
                await self._probe(client, url, body, "continuing an assistant message")
            except ValueError as err:
                raise ValueError(
                    f"verdict='forced' continues the judge's answer (continue_final_message), which the "
                    f"server at {url} does not accept (vLLM and SGLang do): {err}; use verdict='generate'"
                ) from None
        logger.info("judge server %s serves %r (n honoured: %s)", url, self.config.model, self._honours_n[url])

    async def _probe(self, client: Any, url: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        import httpx2 as httpx

        problem = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                await asyncio.sleep(self._delay(attempt - 1))
            try:
                response = await client.post(f"{url}/chat/completions", json=body)
            except httpx.TransportError as err:
                problem = f"unreachable ({type(err).__name__}: {err})"
                continue
            if response.status_code == 200:
                try:
                    return response.json()
                except ValueError:
                    raise ValueError(f"base_url={url!r} answered {what} with something that is not JSON") from None
            if response.status_code not in _RETRY_STATUS:
                served = await self._served_models(client, url)
                raise ValueError(
                    f"base_url={url!r} rejected {what} for model={self.config.model!r} with "
                    f"{response.status_code}: {response.text[:300]}{served}"
                )
            problem = f"failing: it answered {response.status_code}: {response.text[:200]}"
        raise JudgeServerError(f"base_url={url!r} is {problem}")

    @staticmethod
    async def _served_models(client: Any, url: str) -> str:
        try:
            data = (await client.get(f"{url}/models")).json()
            return f" (it serves {[m.get('id') for m in data.get('data', [])]})"
        except Exception:  # only a hint for the message
            return ""

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
        call = self._calls
        semaphore = asyncio.Semaphore(self.config.max_concurrency)
        pacer = _Pacer(self.config.requests_per_second)
        in_flight = [0] * len(self.urls)
        async with self._client() as client:

            async def run(unit: _Unit) -> None:
                body = self._body(requests[unit.index], unit, call)
                data = await self._post(client, body, semaphore, pacer, in_flight)
                generations = _generations(data, unit.count, requests[unit.index].assistant_prefix)
                results[unit.index][unit.start : unit.start + unit.count] = generations

            await asyncio.gather(*(run(unit) for unit in units))
        return [list(samples) for samples in results]  # type: ignore[arg-type]

    def _body(self, request: GenerationRequest, unit: _Unit, call: int) -> dict[str, Any]:
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
            # the same judgment gets the same seed on every run (servers with per-request seeds)
            seed=stable_seed(cfg.seed, call, unit.index, unit.start) % (2**31),
        )
        if not greedy:
            body["top_p"] = cfg.top_p
        if unit.count > 1:
            body["n"] = unit.count
        return body

    def _client(self) -> Any:
        import httpx2 as httpx

        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        limits = httpx.Limits(max_connections=self.config.max_concurrency + len(self.urls))
        timeout = httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout)
        return httpx.AsyncClient(headers=headers, limits=limits, timeout=timeout)

    def _pick(self, in_flight: list[int], avoid: int | None) -> int:
        """The least-loaded server that is not resting (ties: round robin)."""
        now = time.monotonic()
        candidates = [s for s in range(len(self.urls)) if self._resting_until[s] <= now and s != avoid]
        if not candidates:
            candidates = [s for s in range(len(self.urls)) if s != avoid] or [avoid]  # type: ignore[list-item]
        self._turn += 1
        n = len(self.urls)
        return min(candidates, key=lambda s: (in_flight[s], (s - self._turn) % n))

    def _delay(self, attempt: int) -> float:
        cfg = self.config
        return min(cfg.max_backoff, cfg.backoff * 2**attempt) * (0.5 + random.random() / 2)

    async def _post(
        self, client: Any, body: dict[str, Any], semaphore: asyncio.Semaphore, pacer: _Pacer, in_flight: list[int]
    ) -> dict[str, Any] | None:
        """One chat request with retries; None when it gave up."""
        import httpx2 as httpx

        server: int | None = None
        for attempt in range(self.config.retries + 1):
            wait = 0.0
            async with semaphore:
                await pacer.wait()
                server = self._pick(in_flight, server if len(self.urls) > 1 else None)
                url = self.urls[server]
                in_flight[server] += 1
                self.stats["requests"] += 1
                self.server_requests[url] += 1
                try:
                    response = await asyncio.wait_for(
                        client.post(f"{url}/chat/completions", json=body), self.config.timeout
                    )
                except (httpx.TransportError, asyncio.TimeoutError) as err:
                    problem = f"{type(err).__name__}: {err}"
                    response = None
                finally:
                    in_flight[server] -= 1
            if response is not None:
                if response.status_code == 200:
                    try:
                        data = response.json()
                    except ValueError:
                        data = None
                    if isinstance(data, dict) and isinstance(data.get("choices"), list):
                        self._failures[server] = 0
                        return data
                    problem = f"200 without choices: {response.text[:200]}"
                elif response.status_code in _RETRY_STATUS:
                    problem = f"{response.status_code}: {response.text[:200]}"
                    wait = _retry_after(response)
                else:  # the server refuses this request: another try gets the same answer
                    logger.warning(
                        "judge request refused by %s with %s: %s", url, response.status_code, response.text[:300]
                    )
                    self.stats["failed_requests"] += 1
                    return None
            self._failures[server] += 1
            rest = self._delay(self._failures[server] - 1)
            self._resting_until[server] = time.monotonic() + rest
            if attempt < self.config.retries:
                self.stats["retries"] += 1
                logger.info("judge request to %s failed (%s); retry %d", url, problem, attempt + 1)
                await asyncio.sleep(max(wait, self._delay(attempt)))
        logger.warning(
            "judge request failed after %d attempts (%s): judged as no verdict", self.config.retries + 1, problem
        )
        self.stats["failed_requests"] += 1
        return None


def _retry_after(response: Any) -> float:
    try:
        return min(float(response.headers.get("retry-after", 0)), 60.0)
    except ValueError:
        return 0.0


def _generations(data: dict[str, Any] | None, count: int, prefix: str) -> list[Generation]:
    """The samples of one response; missing ones (a failed request) are empty."""
    failed = Generation("", 0, False)
    if data is None:
        return [failed] * count
    choices = sorted(data["choices"], key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)[:count]
    usage = data.get("usage") or {}
    total = usage.get("completion_tokens") if isinstance(usage, dict) else None
    out = []
    for i, choice in enumerate(choices):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            out.append(failed)
            continue
        text = message.get("content") or ""
        # a server with a reasoning parser returns the thinking apart; parsing needs it back
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning and not prefix:
            text = f"<think>\n{reasoning}\n</think>\n\n{text}"
        # usage counts all choices together: spread it evenly, so the sum stays exact
        tokens = 0
        if isinstance(total, int):
            tokens = total // len(choices) + (i < total % len(choices))
        out.append(Generation(text, tokens, choice.get("finish_reason") == "stop"))
    if len(out) < count:
        logger.warning("a judge server returned %d of %d samples; the rest count as no verdict", len(out), count)
        out.extend([failed] * (count - len(out)))
    return out


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to the end from sync code, also when an event loop is running
    in this thread (a notebook, an async trainer): then in a private thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


__all__ = ["JudgeServerError", "OpenAIJudge", "OpenAIJudgeConfig"]
