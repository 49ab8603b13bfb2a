"""``label_preferences``: prompts (and candidates) in, TRL preference rows out.

For every prompt, the candidates (the ``completions`` column, or ``num_candidates``
samples of ``policy``) are ranked by a tournament through the same driver as
``RRMReward``; the best and worst (or every pair above the margin) become a row.

Labels are a pure function of (input row, settings, seed): chunk boundaries depend only
on the input and ``chunk_size``, every sample (policy candidate or judge vote) has its
own content-derived seed, and chunk k's tournaments use ``seed + k``. So resumed,
sharded (``torchrun``/``accelerate``: candidate sampling and each round's judging are
split across ranks) and uninterrupted runs write the same rows. The output's promises
(lock, no silent overwrite, exact resume, atomic publication) are in ``output``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ..distributed import all_gather, world
from ..driver import Group, JudgeStats, TournamentOutcome, run_tournament
from ..files import write_durably
from ..floor import resolve_min_margin
from ..inputs import InputError, Rows, check_row, check_text, load_rows
from ..judges import describe
from ..judges.protocol import Judge, check_judge, is_pointwise
from ..weights_digest import weights_digest
from . import output as out_files
from .config import DROP_REASONS, LabelingConfig, LabelingSummary
from .pairs import as_response, preference_row, select_pairs
from .sampler import PolicySampler

logger = logging.getLogger(__name__)


def validate_rows(rows: Rows) -> None:
    """Checks every row before anything is written: a ``prompt`` (text or messages) and,
    when present, ``completions`` as a list of texts / message lists.

    Raises:
        InputError: naming the source, the row (line number for .jsonl) and the field.
    """
    for i, row in enumerate(rows.rows):
        where = rows.at(i)
        row = check_row(row, where)
        if "prompt" not in row:
            raise InputError(f"{where}: field 'prompt' is missing (columns: {sorted(row)})")
        check_text(row["prompt"], where, "prompt")
        completions = row.get("completions")
        if completions is None:
            continue
        if not isinstance(completions, list):
            raise InputError(f"{where}: field 'completions' must be a list of candidate responses, got {type(completions).__name__}")
        for c, completion in enumerate(completions):
            check_text(completion, where, f"completions[{c}]")


def label_preferences(
    data: Any,
    judge: Judge,
    *,
    output: str | Path | None = None,
    config: LabelingConfig | None = None,
    policy: Any = None,
    policy_tokenizer: Any = None,
    seed: int = 0,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    **options: Any,
) -> LabelingSummary:
    """Labels preference pairs for DPO with ``judge``; see the module doc.

    Args:
        data: a ``datasets.Dataset``, a list of row dicts, or a .jsonl / .json / .parquet
            file, with ``prompt`` (text or messages) and optionally ``completions`` (a list
            of candidates per row). Rows without completions need ``policy``.
        judge: a pairwise judge (``compare``), or a listwise one (``rank``) for
            ``tournament="listwise"``. A judge with ``load()`` (``HFJudge``) is loaded and
            one with ``check()`` (``OpenAIJudge``) checked before the output is touched.
        output: jsonl file to write; None keeps rows in memory (``summary.dataset``).
        config: a ``LabelingConfig``; or its fields as keyword arguments (``tournament``,
            ``pairs``, ``min_margin``, ``num_candidates``, ``chunk_size``, ...).
        policy: a model path or loaded model sampling candidates for rows without any.
        seed: seeds sampling and tournaments (chunk k uses ``seed + k``).
        resume: continue an interrupted run on the same ``output`` (same input, settings,
            seed and process count; else an error).
        overwrite: replace an existing ``output`` (published only when the run finishes).
        progress: show a tqdm progress bar (rank 0).

    Returns:
        A LabelingSummary (with ``dataset`` on rank 0).

    Raises:
        InputError: unreadable input or a bad row, before any output is touched.
        OutputError: the output exists, is locked by another run, cannot be resumed, or
            is not writable; nothing is changed.
        ValueError / TypeError: a bad option; rows without completions and no ``policy``.
    """
    start_time = time.perf_counter()
    if config is None:
        config = LabelingConfig(**options)
    elif options:
        raise TypeError(f"pass either config=... or labeling options, not both (got {sorted(options)})")
    if (resume or overwrite) and output is None:
        raise ValueError("resume/overwrite need an output file")
    if output is not None:
        out_files.check_output_path(data, Path(output))  # before anything runs
    tournament = config.tournament_for(is_pointwise(judge))
    check_judge(judge, listwise=tournament.is_listwise, pointwise=tournament.is_pointwise)

    rows = load_rows(data)
    validate_rows(rows)
    needs_policy = [i for i, r in enumerate(rows.rows) if r.get("completions") is None]
    if needs_policy and policy is None:
        raise ValueError(f"{rows.at(needs_policy[0])} (and {len(needs_policy) - 1} more) has no 'completions': "
                         "pass policy=... to sample candidates")  # fmt: skip
    sampler = PolicySampler(policy, policy_tokenizer, config=config) if needs_policy else None
    for prepare in (getattr(judge, "load", None), getattr(judge, "check", None), sampler and sampler.load):
        if callable(prepare):
            prepare()  # a bad judge or policy fails here, before any output exists

    rank, size = world()
    chunks = [list(range(s, min(s + config.chunk_size, len(rows)))) for s in range(0, len(rows), config.chunk_size)]
    chunk_of = {i: k for k, chunk in enumerate(chunks) for i in chunk}
    path = Path(output) if output is not None else None
    lock = complete = None
    kept_rows = 0
    if path is not None:
        lock, complete, kept_rows = _open_output(path, rows, judge, config, seed, policy, resume, overwrite, chunk_of)
    complete = complete or set()
    try:
        summary, judged = _label(rows, judge, config, tournament, sampler, chunks, complete, path, seed, progress)
        summary.rows_written += kept_rows
        summary.prompts_resumed = sum(len(chunks[k]) for k in complete)
        _totals(summary, judged)
        if rank == 0 and path is not None:
            summary.dataset = _dataset(out_files.publish(path, size))
        all_gather(None)  # barrier: the output is published before anyone returns
    finally:
        if lock is not None:
            lock.release()
    summary.output = str(path) if path is not None else None
    summary.seconds = time.perf_counter() - start_time
    logger.info("labeling: %s", summary.to_dict())
    return summary


def _open_output(path, rows, judge, config, seed, policy, resume, overwrite, chunk_of) -> tuple[Any, set[int], int]:
    """Lock, check and prepare the output on every rank (errors reach every rank)."""
    rank, size = world()
    digest = out_files.fingerprint({
        "rows": rows.rows, "labeling": config.fingerprint_fields(is_pointwise(judge)),
        "judge": describe.settings(judge), "seed": seed,
        "policy": policy if isinstance(policy, str) else type(policy).__name__,
        "policy_weights": weights_digest(policy) if isinstance(policy, str) else None, "processes": size, "version": 1,
    })  # fmt: skip
    lock, problem = None, None
    if rank == 0:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = out_files.OutputLock(path)
            lock.acquire()
            out_files.begin(path, digest, size, resume=resume, overwrite=overwrite)
        except (out_files.OutputError, OSError) as err:
            if lock is not None:
                lock.release()
            problem = err if isinstance(err, out_files.OutputError) else out_files.OutputError(f"output={str(path)!r}: {err}")
    problems = [p for p in all_gather(problem) if p is not None]
    if problems:
        raise problems[0]
    done = out_files.recorded_chunks(path, rank, size) if resume else set()
    shares = [set(part) for part in all_gather(sorted(done))]
    complete = set.intersection(*shares) if shares else set()  # a chunk is done when every rank recorded it
    kept = out_files.prepare_work_file(path, rank, size, resume, chunk_of, complete)
    return lock, complete, kept


def _label(rows, judge, config, tournament, sampler, chunks, complete, path, seed, progress) -> tuple[LabelingSummary, JudgeStats]:
    """Labels the chunks not yet complete; returns this rank's summary and judging stats."""
    rank, size = world()
    summary = LabelingSummary()
    judged = JudgeStats()
    dropped: Counter = Counter()
    memory_rows: list[dict[str, Any]] = []
    bar = None
    if progress and rank == 0:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(rows), initial=sum(len(chunks[k]) for k in complete), desc="labeling", unit="prompt")
    handles = None
    if path is not None:
        handles = (out_files.work_file(path, rank, size).open("a", encoding="utf-8"),
                   out_files.progress_file(path, rank, size).open("a", encoding="utf-8"))  # fmt: skip
    try:
        for k, chunk in enumerate(chunks):
            if k in complete:
                continue
            candidates = {i: [as_response(c) for c in rows.rows[i]["completions"]] for i in chunk
                          if rows.rows[i].get("completions") is not None}  # fmt: skip
            to_sample = [i for i in chunk if i not in candidates]
            if to_sample:
                started = time.perf_counter()
                local = [i for i in to_sample if i % size == rank]
                texts = sampler.sample([rows.rows[i]["prompt"] for i in local], seed=seed + k) if local else []
                for part in all_gather(list(zip(local, texts))):
                    candidates.update(part)
                summary.generation_seconds += time.perf_counter() - started
            ranked = [i for i in chunk if len(candidates[i]) >= 2]
            dropped["too_few_candidates"] += sum(1 for i in chunk if len(candidates[i]) < 2 and i % size == rank)
            groups = [Group(rows.rows[i]["prompt"], tuple(candidates[i])) for i in ranked]
            outcome = run_tournament(groups, judge, tournament, seed=seed + k) if groups else None
            lines = []
            if outcome is not None:
                judged.merge(outcome.stats)
                lines = _rows_of(outcome, ranked, rows, candidates, config, dropped, summary)
            summary.rows_written += len(lines)
            if handles is not None:
                write_durably(handles[0], lines)  # rows first ...
                write_durably(handles[1], [json.dumps({"chunk": k}) + "\n"])  # ... then their progress
            else:
                memory_rows.extend(json.loads(line) for line in lines)
            summary.prompts_seen += len(chunk)
            if bar is not None:
                bar.update(len(chunk))
                bar.set_postfix(rows=summary.rows_written, refresh=False)
    finally:
        for handle in handles or ():
            handle.close()
        if bar is not None:
            bar.close()
    summary.dropped = dict(dropped)
    if path is None:
        parts = all_gather(memory_rows) if size > 1 else [memory_rows]
        summary.dataset = _dataset(sorted((r for part in parts for r in part), key=lambda r: r["source_index"]))
    return summary, judged


def _rows_of(outcome: TournamentOutcome, ranked, rows, candidates, config, dropped, summary) -> list[str]:
    """This rank's preference rows of one chunk, as jsonl lines; counts drops and the margin used."""
    rank, size = world()
    margin = resolve_min_margin(config.min_margin, outcome.soft)
    summary.min_margin = max(summary.min_margin, margin)
    dropped["over_context"] += outcome.stats.over_context if rank == 0 else 0
    lines = []
    for g, i in enumerate(ranked):
        if i % size != rank:
            continue
        for pair in select_pairs(outcome, g, pairs=config.pairs, min_margin=margin,
                                 min_order_agreement=config.min_order_agreement, dropped=dropped):  # fmt: skip
            row = preference_row(rows.rows[i]["prompt"], candidates[i], outcome, g, pair, i)
            lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    return lines


def _totals(summary: LabelingSummary, judged: JudgeStats) -> None:
    """Counts over all ranks (judging stats are identical on every rank)."""
    dropped: Counter = Counter()
    written = 0
    for part_dropped, part_written in all_gather((summary.dropped, summary.rows_written)):
        dropped.update(part_dropped)
        written += part_written
    summary.pairs_considered = dropped.pop("pairs_considered", 0)
    summary.dropped = {reason: dropped.get(reason, 0) for reason in DROP_REASONS}
    summary.rows_written = written
    summary.matches = judged.judged
    metrics = judged.metrics()  # one kind of judgment a run: votes, or rankings for listwise
    summary.parse_failure_rate = metrics.get("parse_failure_rate", metrics.get("ranking_failure_rate"))
    summary.order_disagreement_rate = metrics.get("order_disagreement_rate")
    summary.responses_cut = judged.cut
    summary.judge_seconds = judged.seconds
    summary.matches_per_second = summary.matches / summary.judge_seconds if summary.judge_seconds > 0 else 0.0


def _dataset(rows: list[dict[str, Any]]) -> Any:
    import datasets

    try:
        return datasets.Dataset.from_list(rows) if rows else datasets.Dataset.from_dict({})
    except (TypeError, ValueError) as err:  # e.g. text and conversational prompts mixed (pyarrow)
        logger.warning("rows do not fit one datasets.Dataset schema (%s); summary.dataset is None", err)
        return None
