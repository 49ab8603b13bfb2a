"""Talking to OpenAI-compatible chat servers: a pool with retries, backoff and failover.

``ServerPool.post`` sends one chat request: at most ``max_concurrency`` in flight, at
most ``requests_per_second`` started per second, to the least-loaded server that is not
resting after a failure. Timeouts, connection errors and 408/425/429/5xx answers are
retried (with exponential backoff and jitter, a 429's ``Retry-After`` honoured, on
another server when there is one); any other 4xx is final. A request that gives up is
None: the caller turns it into empty samples, i.e. a failed judgment, never a guess.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..requests import Generation

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Answers worth another try: the server is busy, overloaded, restarting or broken for now.
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class JudgeServerError(ConnectionError):
    """A judge server is unreachable, or answers with an error, when ``check()`` runs."""


class Pacer:
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


class ServerPool:
    """The judge's servers and what it remembers about them between calls.

    Args:
        urls: API roots ending in ``/v1``.
        config: an ``OpenAIJudgeConfig`` (its server fields are read).

    ``stats`` counts ``requests`` (attempts), ``retries`` and ``failed_requests``;
    ``server_requests`` the attempts per server.
    """

    def __init__(self, urls: list[str], config: Any) -> None:
        self.urls, self.config = urls, config
        self.stats = {"requests": 0, "retries": 0, "failed_requests": 0}
        self.server_requests = dict.fromkeys(urls, 0)
        self.resting_until = [0.0] * len(urls)  # a failed server is avoided until then
        self.failures = [0] * len(urls)
        self.turn = 0

    def client(self) -> Any:
        import httpx2 as httpx

        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        limits = httpx.Limits(max_connections=self.config.max_concurrency + len(self.urls))
        timeout = httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout)
        return httpx.AsyncClient(headers=headers, limits=limits, timeout=timeout)

    def delay(self, attempt: int) -> float:
        cfg = self.config
        return min(cfg.max_backoff, cfg.backoff * 2**attempt) * (0.5 + random.random() / 2)

    def pick(self, in_flight: list[int], avoid: int | None) -> int:
        """The least-loaded server that is not resting (ties: round robin)."""
        now = time.monotonic()
        candidates = [s for s in range(len(self.urls)) if self.resting_until[s] <= now and s != avoid]
        if not candidates:
            candidates = [s for s in range(len(self.urls)) if s != avoid] or [avoid]  # type: ignore[list-item]
        self.turn += 1
        n = len(self.urls)
        return min(candidates, key=lambda s: (in_flight[s], (s - self.turn) % n))

    async def post(
        self, client: Any, body: dict[str, Any], semaphore: asyncio.Semaphore, pacer: Pacer, in_flight: list[int]
    ) -> dict[str, Any] | None:
        """One chat request with retries; None when it gave up."""
        import httpx2 as httpx

        server: int | None = None
        problem = ""
        for attempt in range(self.config.retries + 1):
            wait = 0.0
            async with semaphore:
                await pacer.wait()
                server = self.pick(in_flight, server if len(self.urls) > 1 else None)
                url = self.urls[server]
                in_flight[server] += 1
                self.stats["requests"] += 1
                self.server_requests[url] += 1
                try:
                    response = await asyncio.wait_for(client.post(f"{url}/chat/completions", json=body), self.config.timeout)
                except (httpx.TransportError, asyncio.TimeoutError) as err:
                    problem, response = f"{type(err).__name__}: {err}", None
                finally:
                    in_flight[server] -= 1
            if response is not None:
                if response.status_code == 200:
                    try:
                        data = response.json()
                    except ValueError:
                        data = None
                    if isinstance(data, dict) and isinstance(data.get("choices"), list):
                        self.failures[server] = 0
                        return data
                    problem = f"200 without choices: {response.text[:200]}"
                elif response.status_code in RETRY_STATUS:
                    problem = f"{response.status_code}: {response.text[:200]}"
                    wait = _retry_after(response)
                else:  # the server refuses this request: another try gets the same answer
                    logger.warning("judge request refused by %s with %s: %s", url, response.status_code, response.text[:300])
                    self.stats["failed_requests"] += 1
                    return None
            self.failures[server] += 1
            self.resting_until[server] = time.monotonic() + self.delay(self.failures[server] - 1)
            if attempt < self.config.retries:
                self.stats["retries"] += 1
                logger.info("judge request to %s failed (%s); retry %d", url, problem, attempt + 1)
                await asyncio.sleep(max(wait, self.delay(attempt)))
        logger.warning("judge request failed after %d attempts (%s): judged as no verdict", self.config.retries + 1, problem)
        self.stats["failed_requests"] += 1
        return None

    async def probe(self, client: Any, url: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        """One request of the startup check, retried like any other.

        Raises:
            JudgeServerError: unreachable, or 5xx / timeouts after every retry.
            ValueError: a 4xx answer (the message lists the served models) or non-JSON.
        """
        import httpx2 as httpx

        problem = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                await asyncio.sleep(self.delay(attempt - 1))
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
            if response.status_code not in RETRY_STATUS:
                served = await _served_models(client, url)
                raise ValueError(
                    f"base_url={url!r} rejected {what} for model={self.config.model!r} with "
                    f"{response.status_code}: {response.text[:300]}{served}"
                )
            problem = f"failing: it answered {response.status_code}: {response.text[:200]}"
        raise JudgeServerError(f"base_url={url!r} is {problem}")


async def _model_cards(client: Any, url: str) -> dict[Any, dict[str, Any]] | None:
    """The server's ``GET /models`` list by model id; None when it does not answer with one."""
    try:
        return {card.get("id"): card for card in (await client.get(f"{url}/models")).json().get("data", [])}
    except Exception:  # a server without a model list: callers use it for hints and limits only
        return None


async def served_context(client: Any, url: str, model: str | None) -> int | None:
    """The context in tokens ``url`` serves ``model`` with: its ``/models`` card's
    ``max_model_len`` (vLLM), or that of the card it names as ``parent`` (a LoRA adapter
    served beside its base); None when the server does not say (``transformers serve``)."""
    cards = await _model_cards(client, url) or {}
    card = cards.get(model) or {}
    value = card.get("max_model_len") or (cards.get(card.get("parent")) or {}).get("max_model_len")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


async def _served_models(client: Any, url: str) -> str:
    """A hint for an error message: the models ``url`` serves ("" when it does not say)."""
    cards = await _model_cards(client, url)
    return "" if cards is None else f" (it serves {list(cards)})"


def _retry_after(response: Any) -> float:
    try:
        return min(float(response.headers.get("retry-after", 0)), 60.0)
    except ValueError:
        return 0.0


def generations(data: dict[str, Any] | None, count: int, prefix: str) -> list[Generation]:
    """The samples of one chat response; missing ones (a failed request) are empty."""
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


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to the end from sync code, also when an event loop is running
    in this thread (a notebook, an async trainer): then in a private thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
