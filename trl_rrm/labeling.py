"""DPO preference labels from a judge: prompts (and candidates) in, TRL preference rows out.

    from trl_rrm import HFJudge
    from trl_rrm.labeling import label_preferences

    judge = HFJudge("judge", adapter="judge-lora", both_orders=True, verdict="forced")
    summary = label_preferences("prompts.jsonl", judge, output="pairs.jsonl", policy="policy", num_candidates=4)
    summary.dataset        # prompt / chosen / rejected (+ scores, margin, order_agreement, rationale)

For every prompt, the candidates (the ``completions`` column, or ``num_candidates``
samples of ``policy``) are ranked by a tournament through the same driver as
``RRMReward`` (``run_tournament``); the best and worst (or every pair above a margin)
become a row in TRL's preference format. Conversational prompts give conversational
rows: ``chosen`` and ``rejected`` are ``[{"role": "assistant", "content": ...}]``.

Reliability: prompts are handled ``batch_prompts`` at a time (one tournament, i.e. one
judge call per round, per chunk). A chunk's rows are appended to the output (jsonl),
flushed and fsynced, and only THEN its input row indices are appended to the sidecar
``<output>.progress.jsonl``. ``resume=True`` reads the sidecar, drops every output row
whose ``source_index`` is not recorded there (a chunk killed between the two writes, or a
torn last line) and continues with the chunks not recorded. Chunk boundaries and seeds
depend only on the input, so a resumed run writes exactly the rows of an uninterrupted one.

Several processes (``accelerate launch`` / ``torchrun``): all ranks walk the same chunks;
candidate generation is split across ranks, and ``run_tournament`` splits the judging of
every round. Each rank writes the rows of its share of the prompts to its own shard
``<output>.rank<r>-of-<w>.jsonl`` (with its own progress sidecar); after a barrier
(``all_gather``) rank 0 merges the shards into ``output``. Resume with the same world size.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .distributed import all_gather, world
from .driver import Group, TournamentOutcome, run_tournament
from .rows import read_rows
from .sampling import generate_completions
from .tournaments import Tournament, get_tournament
from .types import Text

logger = logging.getLogger(__name__)

PairMode = Literal["best_worst", "all_above_margin"]
DROP_REASONS = ("too_few_candidates", "unscored_candidate", "tie", "low_margin", "order_disagreement")


class LabelingInputError(ValueError):
    """Bad input data; the message names the source (file or dataset), the row and the field."""


@dataclass
class LabelingSummary:
    """What a labeling run did (on rank 0: totals over all ranks).

    Attributes:
        rows_written: preference rows in the output (resumed rows included).
        prompts_seen: prompts decided in this run (prompts skipped by ``resume`` excluded).
        prompts_resumed: prompts skipped because a previous run had completed them.
        dropped: counts per reason: ``too_few_candidates`` (a prompt with fewer than two
            scored candidates), ``unscored_candidate`` (a candidate the judge gave no valid
            result: removed, the prompt may still give a pair), ``tie`` (equal scores),
            ``low_margin`` (margin < ``min_margin``), ``order_disagreement`` (pair order
            agreement < ``min_order_agreement``). Pair reasons count candidate pairs.
        pairs_considered: candidate pairs that reached pair selection.
        parse_failure_rate: failed judgments / judgments (rankings for listwise); None
            when nothing was judged.
        order_disagreement_rate: share of both-order matches whose orders disagreed.
        matches: pairwise matches (or listwise rankings) judged.
        matches_per_second: ``matches`` / seconds spent in the judge's tournaments.
        judge_seconds: seconds inside ``run_tournament``.
        generation_seconds: seconds sampling candidates from the policy.
        seconds: wall-clock seconds of the whole run.
        output: the output file, when one was written.
        dataset: the rows as a ``datasets.Dataset`` (rank 0; None elsewhere).
    """

    rows_written: int = 0
    prompts_seen: int = 0
    prompts_resumed: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    pairs_considered: int = 0
    parse_failure_rate: float | None = None
    order_disagreement_rate: float | None = None
    matches: int = 0
    matches_per_second: float = 0.0
    judge_seconds: float = 0.0
    generation_seconds: float = 0.0
    seconds: float = 0.0
    output: str | None = None
    dataset: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the dataset, JSON-ready."""
        return {k: v for k, v in self.__dict__.items() if k != "dataset"}


# ----------------------------------------------------------------------------- input


def load_rows(data: Any) -> tuple[list[dict[str, Any]], str]:
    """Rows of a ``datasets.Dataset``, a list of dicts, or a .jsonl / .json / .parquet file,
    validated (see ``validate_rows``). Returns ``(rows, source name for messages)``.

    Raises:
        LabelingInputError: unreadable file, unknown extension, malformed line or row.
    """
    if isinstance(data, (str, os.PathLike)):
        source = str(data)
        rows = read_rows(data, LabelingInputError)
    elif isinstance(data, list):
        rows, source = data, "rows"
    elif hasattr(data, "column_names") and hasattr(data, "to_list"):
        rows, source = data.to_list(), "dataset"
    else:
        raise LabelingInputError(f"input must be a datasets.Dataset, a list of rows or a file path, got {type(data).__name__}")
    validate_rows(rows, source)
    return rows, source


def _check_text(value: Any, source: str, row: int, name: str, role_needed: bool) -> None:
    where = f"{source}: row {row}: field {name!r}"
    if isinstance(value, str):
        if not value.strip():
            raise LabelingInputError(f"{where}: is empty")
        return
    if isinstance(value, list):
        if not value:
            raise LabelingInputError(f"{where}: is an empty message list")
        for m, message in enumerate(value):
            if not isinstance(message, dict) or "content" not in message or (role_needed and "role" not in message):
                raise LabelingInputError(f"{where}: message {m} must be a dict with 'role' and 'content', got {message!r:.80}")
            if not isinstance(message["content"], str):
                raise LabelingInputError(f"{where}: message {m} content must be a string")
        if not any(str(message["content"]).strip() for message in value):
            raise LabelingInputError(f"{where}: every message is empty")
        return
    raise LabelingInputError(f"{where}: must be text or a list of chat messages, got {type(value).__name__}")


def validate_rows(rows: Sequence[Any], source: str) -> None:
    """Checks every row before anything is written.

    Raises:
        LabelingInputError: no rows, a row that is not a mapping, a missing or empty
            ``prompt``, or ``completions`` that is not a list of texts / message lists.
    """
    if not rows:
        raise LabelingInputError(f"{source}: has no rows")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise LabelingInputError(f"{source}: row {i}: must be an object with a 'prompt' field, got {type(row).__name__}")
        if "prompt" not in row:
            raise LabelingInputError(f"{source}: row {i}: field 'prompt' is missing (columns: {sorted(row)})")
        _check_text(row["prompt"], source, i, "prompt", role_needed=True)
        completions = row.get("completions")
        if completions is None:
            continue
        if not isinstance(completions, list):
            raise LabelingInputError(
                f"{source}: row {i}: field 'completions' must be a list of candidate responses, "
                f"got {type(completions).__name__}"
            )
        for c, completion in enumerate(completions):
            if isinstance(completion, dict):  # one message instead of a message list
                completion = [completion]
            _check_text(completion, source, i, f"completions[{c}]", role_needed=False)


# ------------------------------------------------------------------------ generation


class PolicySampler:
    """Samples candidates from a causal LM: chat template, left padding, batched, seeded.

    Args:
        policy: a model id or path (loaded with transformers), or a loaded model.
        tokenizer: needed when ``policy`` is a loaded model.
        num_candidates: samples per prompt.
        temperature: sampling temperature (0: greedy; then all candidates are equal).
        max_new_tokens: budget per candidate.
        batch_size: sequences generated together.
    """

    def __init__(
        self,
        policy: Any,
        tokenizer: Any = None,
        *,
        num_candidates: int = 4,
        temperature: float = 1.0,
        max_new_tokens: int = 128,
        top_p: float = 1.0,
        batch_size: int = 32,
    ) -> None:
        if not isinstance(num_candidates, int) or num_candidates < 2:
            raise ValueError(f"num_candidates={num_candidates!r} must be an integer >= 2")
        if temperature < 0:
            raise ValueError(f"temperature={temperature!r} must be >= 0")
        self.policy, self._tokenizer = policy, tokenizer
        self.num_candidates, self.temperature, self.top_p = num_candidates, temperature, top_p
        self.max_new_tokens, self.batch_size = max_new_tokens, batch_size
        self._model: Any = None

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            if isinstance(self.policy, (str, os.PathLike)):
                self._tokenizer = self._tokenizer or AutoTokenizer.from_pretrained(self.policy)
                self._model = AutoModelForCausalLM.from_pretrained(self.policy)
                self._model.eval()
            else:
                if self._tokenizer is None:
                    raise ValueError("a loaded policy model needs its tokenizer (tokenizer=...)")
                self._model = self.policy
        return self._model, self._tokenizer

    def sample(self, prompts: Sequence[Text], seed: int) -> list[list[str]]:
        """``num_candidates`` texts per prompt; the same (prompts, seed) give the same texts."""
        model, tokenizer = self._load()
        return generate_completions(
            model, tokenizer, prompts, num_samples=self.num_candidates, temperature=self.temperature,
            top_p=self.top_p, max_new_tokens=self.max_new_tokens, batch_size=self.batch_size, seed=seed,
        )


# -------------------------------------------------------------------- pair selection


def _as_text(value: Any) -> Text:
    return [value] if isinstance(value, dict) else value


def _response(value: Text, conversational: bool) -> Text:
    if conversational and isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    return value


def _pair_agreement(outcome: TournamentOutcome, g: int, a: int, b: int) -> float | None:
    """Mean ``order_agreement`` of the both-order matches between ``a`` and ``b``; when the
    two never met with both orders, of every both-order match of the prompt; None without any."""
    direct, every = [], []
    for pairing, verdict in outcome.results:
        if pairing.group != g or verdict.order_agreement is None:
            continue
        every.append(float(verdict.order_agreement))
        if {pairing.first, pairing.second} == {a, b}:
            direct.append(float(verdict.order_agreement))
    chosen = direct or every
    return sum(chosen) / len(chosen) if chosen else None


def _pair_rationale(outcome: TournamentOutcome, g: int, a: int, b: int) -> str | None:
    for pairing, verdict in outcome.results:
        if pairing.group == g and {pairing.first, pairing.second} == {a, b} and not verdict.failed:
            return verdict.rationale
    return outcome.rationales[g][a]


def select_pairs(
    outcome: TournamentOutcome,
    g: int,
    *,
    pairs: PairMode,
    min_margin: float,
    min_order_agreement: float | None,
    dropped: Counter,
) -> list[tuple[int, int, float | None]]:
    """(chosen, rejected, order agreement) candidate indices of group ``g``; counts drops."""
    scores = outcome.scores[g]
    scored = [c for c, s in enumerate(scores) if s is not None]
    dropped["unscored_candidate"] += len(scores) - len(scored)
    if len(scored) < 2:
        dropped["too_few_candidates"] += 1
        return []
    if pairs == "best_worst":
        # ties between equal scores break towards the earlier candidate: deterministic
        best = max(scored, key=lambda c: scores[c])
        worst = min(scored, key=lambda c: scores[c])
        candidates = [(best, worst)]
    else:
        candidates = []
        for i, a in enumerate(scored):
            for b in scored[i + 1 :]:
                candidates.append((a, b) if scores[a] >= scores[b] else (b, a))
    chosen_pairs = []
    for a, b in candidates:
        dropped["pairs_considered"] += 1
        margin = scores[a] - scores[b]
        if margin <= 0 or math.isclose(margin, 0.0, abs_tol=1e-12):
            dropped["tie"] += 1
            continue
        if margin < min_margin:
            dropped["low_margin"] += 1
            continue
        agreement = _pair_agreement(outcome, g, a, b)
        if min_order_agreement is not None and agreement is not None and agreement < min_order_agreement:
            dropped["order_disagreement"] += 1
            continue
        chosen_pairs.append((a, b, agreement))
    return chosen_pairs


# ------------------------------------------------------------------------- files


def _progress_path(path: Path) -> Path:
    return path.with_name(path.name + ".progress.jsonl")


def _read_jsonl_lines(path: Path) -> list[Any]:
    """Complete, parseable lines of a jsonl file (a torn last line is ignored)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n")
    out = []
    for line in data[: end + 1].splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # torn or garbled line: its chunk is not in the progress file anyway
    return out


def _write_durably(f: Any, lines: list[str]) -> None:
    if lines:
        f.write("".join(lines))
    f.flush()
    os.fsync(f.fileno())


def _atomic_write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        _write_durably(f, [json.dumps(r, ensure_ascii=False) + "\n" for r in rows])
    os.replace(tmp, path)


def _prepare_shard(shard: Path, resume: bool, complete_chunks: set[int], chunk_of: dict[int, int]) -> int:
    """Leaves ``shard`` with only the rows of complete chunks and its progress file with only
    those chunks' indices; returns the number of rows kept."""
    progress = _progress_path(shard)
    if not resume:
        for path in (shard, progress):
            path.unlink(missing_ok=True)
        return 0
    kept = [r for r in _read_jsonl_lines(shard) if chunk_of.get(r.get("source_index")) in complete_chunks]
    recorded = [
        i for entry in _read_jsonl_lines(progress) for i in entry.get("indices", []) if chunk_of.get(i) in complete_chunks
    ]
    _atomic_write_rows(shard, kept)
    _atomic_write_rows(progress, [{"indices": recorded}] if recorded else [])
    return len(kept)


# ------------------------------------------------------------------------- driver


def label_preferences(
    data: Any,
    judge: Any,
    *,
    output: str | os.PathLike[str] | None = None,
    tournament: str | Tournament = "round_robin",
    pairs: PairMode = "best_worst",
    min_margin: float = 0.0,
    min_order_agreement: float | None = None,
    policy: Any = None,
    policy_tokenizer: Any = None,
    num_candidates: int = 4,
    temperature: float = 1.0,
    max_new_tokens: int = 128,
    generation_batch_size: int = 32,
    batch_prompts: int = 16,
    seed: int = 0,
    resume: bool = False,
    progress: bool = False,
) -> LabelingSummary:
    """Labels preference pairs for DPO with ``judge``; see the module doc.

    Args:
        data: a ``datasets.Dataset``, a list of row dicts, or a .jsonl / .json / .parquet
            file, with ``prompt`` (text or messages) and optionally ``completions`` (a list
            of candidates per row). Rows without completions need ``policy``.
        judge: a pairwise judge (``compare``), or a listwise one (``rank``) for
            ``tournament="listwise"``.
        output: jsonl file to write (appended chunk by chunk); None keeps rows in memory.
        tournament: a tournament name or instance (default ``"round_robin"``).
        pairs: ``"best_worst"``: one pair per prompt, the best and the worst candidate;
            ``"all_above_margin"``: every candidate pair whose margin is >= ``min_margin``.
        min_margin: drop a pair whose score difference is below this.
        min_order_agreement: drop a pair whose order agreement (module ``_pair_agreement``:
            the mean ``Verdict.order_agreement`` of the pair's both-order matches, else of
            all the prompt's both-order matches) is below this. Pairs without both-order
            information (single order, listwise) are kept; their ``order_agreement`` is None.
        policy: a model path or loaded model sampling ``num_candidates`` candidates per
            prompt (with ``temperature``, ``max_new_tokens``, seeded) for rows without
            completions.
        batch_prompts: prompts per chunk (one tournament, one fsynced write).
        seed: seeds sampling and tournaments (chunk k uses ``seed + k``).
        resume: continue an interrupted run on the same ``output`` (see module doc);
            False starts over and deletes an existing ``output`` and its progress file.
        progress: show a tqdm progress bar (rank 0).

    Returns:
        A LabelingSummary (with ``dataset`` on rank 0).

    Raises:
        LabelingInputError: unreadable input or a bad row (message names source, row and
            field); raised before any output file is created.
        ValueError: a bad option, rows without completions and no ``policy``, or
            ``resume=True`` without ``output``.
    """
    start_time = time.perf_counter()
    if pairs not in ("best_worst", "all_above_margin"):
        raise ValueError(f"pairs={pairs!r} must be 'best_worst' or 'all_above_margin'")
    if not isinstance(batch_prompts, int) or batch_prompts < 1:
        raise ValueError(f"batch_prompts={batch_prompts!r} must be a positive integer")
    if min_margin < 0:
        raise ValueError(f"min_margin={min_margin!r} must be >= 0")
    if min_order_agreement is not None and not 0 <= min_order_agreement <= 1:
        raise ValueError(f"min_order_agreement={min_order_agreement!r} must be in [0, 1] or None")
    if resume and output is None:
        raise ValueError("resume=True needs an output file")
    if not hasattr(judge, "compare") and not hasattr(judge, "rank"):
        raise TypeError(f"judge={judge!r:.80} has neither compare() nor rank()")
    tournament = get_tournament(tournament) if isinstance(tournament, str) else tournament

    rows, source = load_rows(data)
    needs_policy = [i for i, r in enumerate(rows) if r.get("completions") is None]
    if needs_policy and policy is None:
        raise ValueError(
            f"{source}: row {needs_policy[0]} (and {len(needs_policy) - 1} more) has no 'completions': "
            "pass policy=... to sample candidates"
        )
    sampler = (
        PolicySampler(policy, policy_tokenizer, num_candidates=num_candidates, temperature=temperature,
                      max_new_tokens=max_new_tokens, batch_size=generation_batch_size)
        if needs_policy else None
    )  # fmt: skip

    rank, size = world()
    chunks = [list(range(s, min(s + batch_prompts, len(rows)))) for s in range(0, len(rows), batch_prompts)]
    chunk_of = {i: k for k, chunk in enumerate(chunks) for i in chunk}
    mine_in = lambda chunk: [i for i in chunk if i % size == rank]  # noqa: E731  (this rank's prompts)

    out_path = Path(output) if output is not None else None
    shard = None
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        shard = out_path if size == 1 else out_path.with_name(f"{out_path.name}.rank{rank}-of-{size}.jsonl")
        done: set[int] = set()
        if resume:
            for entry in _read_jsonl_lines(_progress_path(shard)):
                done.update(entry.get("indices", []))
        # A chunk is complete when every rank recorded its share of it.
        done_all = set().union(*all_gather(sorted(done)))
        complete = {k for k, chunk in enumerate(chunks) if chunk and all(i in done_all for i in chunk)}
        kept_rows = _prepare_shard(shard, resume, complete, chunk_of)
        if size > 1 and rank == 0 and not resume:
            out_path.unlink(missing_ok=True)
            _progress_path(out_path).unlink(missing_ok=True)
    else:
        complete, kept_rows = set(), 0

    summary = LabelingSummary(output=str(out_path) if out_path is not None else None)
    summary.prompts_resumed = sum(len(chunks[k]) for k in complete)
    dropped: Counter = Counter()
    failed = judgments = matches = both = disagree = 0
    memory_rows: list[dict[str, Any]] = []
    written = kept_rows

    bar = None
    if progress and rank == 0:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(rows), initial=summary.prompts_resumed, desc="labeling", unit="prompt")
    handle = shard.open("a", encoding="utf-8") if shard is not None else None
    progress_handle = _progress_path(shard).open("a", encoding="utf-8") if shard is not None else None
    try:
        for k, chunk in enumerate(chunks):
            if k in complete:
                continue
            # candidates: given, or sampled (split across ranks, then gathered)
            candidates: dict[int, list[Text]] = {
                i: [_as_text(c) for c in rows[i]["completions"]] for i in chunk if rows[i].get("completions") is not None
            }
            to_sample = [i for i in chunk if i not in candidates]
            if to_sample:
                gen_start = time.perf_counter()
                local = [i for i in to_sample if i % size == rank]
                texts = sampler.sample([rows[i]["prompt"] for i in local], seed=seed + k) if local else []
                for part in all_gather(list(zip(local, texts))):
                    candidates.update(part)
                summary.generation_seconds += time.perf_counter() - gen_start
            groups = [Group(rows[i]["prompt"], tuple(candidates[i])) for i in chunk if len(candidates[i]) >= 2]
            group_index = [i for i in chunk if len(candidates[i]) >= 2]
            dropped["too_few_candidates"] += sum(1 for i in chunk if len(candidates[i]) < 2 and i % size == rank)
            outcome = run_tournament(groups, judge, tournament, seed=seed + k) if groups else None
            if outcome is not None:
                stats = outcome.stats
                matches += stats.matches + stats.rankings
                judgments += stats.judgments + stats.rankings
                failed += stats.failed_judgments + stats.failed_rankings
                both += stats.both_orders
                disagree += stats.order_disagreements
                summary.judge_seconds += stats.seconds
            lines = []
            for g, i in enumerate(group_index):
                if i % size != rank:
                    continue
                prompt = rows[i]["prompt"]
                conversational = isinstance(prompt, list)
                for a, b, agreement in select_pairs(
                    outcome, g, pairs=pairs, min_margin=min_margin, min_order_agreement=min_order_agreement, dropped=dropped
                ):
                    row = {
                        "prompt": prompt,
                        "chosen": _response(candidates[i][a], conversational),
                        "rejected": _response(candidates[i][b], conversational),
                        "chosen_score": outcome.scores[g][a],
                        "rejected_score": outcome.scores[g][b],
                        "margin": outcome.scores[g][a] - outcome.scores[g][b],
                        "order_agreement": agreement,
                        "rationale": _pair_rationale(outcome, g, a, b),
                        "source_index": i,
                    }
                    lines.append(json.dumps(row, ensure_ascii=False) + "\n")
                    if handle is None:
                        memory_rows.append(row)
            written += len(lines)
            if handle is not None:
                _write_durably(handle, lines)  # rows first ...
                entry = {"chunk": k, "indices": mine_in(chunk)}
                _write_durably(progress_handle, [json.dumps(entry) + "\n"])  # ... then their progress
            summary.prompts_seen += len(chunk)
            if bar is not None:
                bar.update(len(chunk))
                bar.set_postfix(rows=written, refresh=False)
    finally:
        for h in (handle, progress_handle):
            if h is not None:
                h.close()
        if bar is not None:
            bar.close()

    # totals over ranks (judging stats are already identical on every rank)
    dropped_all: Counter = Counter()
    written_all = 0
    for part_dropped, part_written in all_gather((dict(dropped), written)):
        dropped_all.update(part_dropped)
        written_all += part_written
    if out_path is None and size > 1:
        memory_rows = sorted((r for part in all_gather(memory_rows) for r in part), key=lambda r: r["source_index"])
    summary.pairs_considered = dropped_all.pop("pairs_considered", 0)
    summary.dropped = {reason: dropped_all.get(reason, 0) for reason in DROP_REASONS}
    summary.rows_written = written_all
    summary.matches = matches
    summary.parse_failure_rate = failed / judgments if judgments else None
    summary.order_disagreement_rate = disagree / both if both else None
    summary.matches_per_second = matches / summary.judge_seconds if summary.judge_seconds > 0 else 0.0

    if rank == 0:
        import datasets

        if out_path is not None:
            if size > 1:  # merge the shards, in input order
                merged = []
                for r in range(size):
                    merged.extend(_read_jsonl_lines(out_path.with_name(f"{out_path.name}.rank{r}-of-{size}.jsonl")))
                merged.sort(key=lambda row: row["source_index"])  # stable: pair order kept
                _atomic_write_rows(out_path, merged)
                final = merged
            else:
                final = _read_jsonl_lines(out_path)
        else:
            final = memory_rows
        try:
            summary.dataset = datasets.Dataset.from_list(final) if final else datasets.Dataset.from_dict({})
        except (TypeError, ValueError) as err:  # e.g. text and conversational prompts mixed (pyarrow)
            logger.warning("rows do not fit one datasets.Dataset schema (%s); summary.dataset is None", err)
    all_gather(None)  # barrier: the merged file exists before anyone returns
    summary.seconds = time.perf_counter() - start_time
    logger.info("labeling: %s", summary.to_dict())
    return summary
