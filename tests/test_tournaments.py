"""Tournaments: schedules, rewards and failure handling, with scripted fake judges.

Plain Python, no judge and no model: a "compare" here maps pairings to verdicts from a
hidden strength per completion or from a script.
"""

from __future__ import annotations

import math
import random

import pytest

from trl_rrm.tournaments import (
    TOURNAMENTS,
    BradleyTerryTournament,
    EloTournament,
    KnockoutTournament,
    ListwiseTournament,
    Pairing,
    RoundRobinTournament,
    bradley_terry_strengths,
    elo_ratings,
    elo_reward,
    get_tournament,
    knockout_rounds,
    listwise_scores,
    outcome,
    play,
)
from trl_rrm.types import Ranking, Verdict

WIN_FIRST = Verdict(winner=0)
WIN_SECOND = Verdict(winner=1)
TIE = Verdict(winner=None, tie=True)
FAILED = Verdict(winner=None)

PAIRWISE = ["knockout", "elo", "round_robin", "bradley_terry"]
LINEAR = ["swiss", "circular", "anchor", "adaptive"]  # more in tests/test_tournaments_linear.py and _adaptive.py
ALL_PAIRWISE = PAIRWISE + LINEAR


def by_strength(strengths):
    """A fake judge: the completion with the higher hidden strength wins; equal = tie.

    ``strengths[g][i]`` is the strength of completion i of group g (default: its index).
    """

    def compare(pairings):
        out = []
        for p in pairings:
            s = strengths[p.group] if strengths is not None else None
            a, b = (s[p.first], s[p.second]) if s is not None else (p.first, p.second)
            out.append(TIE if a == b else (WIN_FIRST if a > b else WIN_SECOND))
        return out

    return compare


by_index = by_strength(None)  # higher index wins


def scripted(outcomes, default=None):
    """A fake judge from a script.

    ``outcomes[(g, i, j)]`` is "i" (i wins), "j", "tie" or "fail" for the unordered pair
    {i, j} of group g, whatever the presentation order.
    """

    def compare(pairings):
        out = []
        for p in pairings:
            key = (p.group, p.first, p.second)
            flipped = (p.group, p.second, p.first)
            if key in outcomes:
                result, first_is_i = outcomes[key], True
            elif flipped in outcomes:
                result, first_is_i = outcomes[flipped], False
            elif default is not None:
                out.append(default(p))
                continue
            else:
                raise AssertionError(f"unscripted pairing {p}")
            if result in ("tie", "fail"):
                out.append(TIE if result == "tie" else FAILED)
            else:
                out.append(WIN_FIRST if (result == "i") == first_is_i else WIN_SECOND)
        return out

    return compare


def rounded(scores, digits=6):
    return [[None if x is None else round(x, digits) for x in group] for group in scores]


# ---------------------------------------------------------------- common behaviour


@pytest.mark.parametrize("name", PAIRWISE)
def test_group_sizes_0_1_2(name):
    schedule = play(get_tournament(name), [0, 1, 2], by_index)
    scores = schedule.scores()
    assert scores[0] == [] and scores[1] == [None]  # nothing to compare
    loser, winner = scores[2]
    assert winner > loser
    assert len(schedule.results()) == 1  # a group of 2 is one match in every strategy
    expected = {
        "knockout": [0.0, 1.0],  # 1 round: the winner advanced 1/1
        "elo": [0.49, 0.51],  # 1000 -/+ K*0.5 = 998/1002 -> (r-1000)/200 + 0.5
        "round_robin": [0.0, 1.0],
        "bradley_terry": [0.180552, 0.819448],  # see test_bradley_terry_one_match_hand_computed
    }[name]
    assert scores[2] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("name", ALL_PAIRWISE)
def test_all_failed_verdicts_give_all_none(name):
    sizes = [2, 3, 5, 8]
    schedule = play(get_tournament(name), sizes, lambda pairings: [FAILED] * len(pairings))
    assert schedule.scores() == [[None] * n for n in sizes]
    assert schedule.results() and all(v.failed for _, v in schedule.results())


@pytest.mark.parametrize("name", ALL_PAIRWISE)
def test_mixed_batch_every_round_holds_every_playing_group(name):
    sizes = [3, 0, 5, 2, 7, 1, 4]
    schedule = get_tournament(name).schedule(sizes, seed=3)
    rounds = []
    while pairings := schedule.next_round():
        for p in pairings:
            assert 0 <= p.first < sizes[p.group] and 0 <= p.second < sizes[p.group] and p.first != p.second
        rounds.append(pairings)
        schedule.record(by_index(pairings))
    # The first round has matches of every group that can play, and only of those.
    assert {p.group for p in rounds[0]} == {g for g, n in enumerate(sizes) if n >= 2}
    scores = schedule.scores()
    assert [len(group) for group in scores] == sizes
    assert scores[1] == [] and scores[5] == [None]
    for g, n in enumerate(sizes):
        if n >= 2:
            assert all(x is not None for x in scores[g])
            assert scores[g][n - 1] == max(scores[g])  # the strongest (highest index) tops
    assert sum(len(r) for r in rounds) == len(schedule.results())


@pytest.mark.parametrize("name", PAIRWISE)
@pytest.mark.parametrize("n", [3, 5, 7])
def test_odd_group_sizes(name, n):
    schedule = play(get_tournament(name), [n], by_index, seed=n)
    (scores,) = schedule.scores()
    assert all(x is not None and 0.0 <= x <= 1.0 for x in scores)
    assert scores[n - 1] == max(scores)
    if name != "knockout":  # the full round robin ranks a transitive order strictly
        assert all(a < b for a, b in zip(scores, scores[1:]))


@pytest.mark.parametrize("name", ALL_PAIRWISE)
def test_reproducible_with_seed_and_different_across_seeds_and_groups(name):
    tournament = get_tournament(name)
    strengths = [[random.Random(g).random() for _ in range(8)] for g in range(3)]

    def run(seed):
        schedule = play(tournament, [8, 8, 8], by_strength(strengths), seed=seed)
        return schedule.results(), schedule.scores()

    assert run(5) == run(5)
    pairings_5 = [p for p, _ in run(5)[0]]
    pairings_6 = [p for p, _ in run(6)[0]]
    assert pairings_5 != pairings_6  # another seed: other bracket / presentation orders
    # Groups of the same size get different brackets or orientations in one schedule.
    per_group = [[(p.first, p.second) for p in pairings_5 if p.group == g] for g in range(3)]
    assert per_group[0] != per_group[1] and per_group[1] != per_group[2]


@pytest.mark.parametrize("name", ALL_PAIRWISE)
def test_protocol_errors(name):
    schedule = get_tournament(name).schedule([4, 3], seed=0)
    pairings = schedule.next_round()
    with pytest.raises(RuntimeError, match="before record"):
        schedule.next_round()
    with pytest.raises(RuntimeError, match="before the schedule finished"):
        schedule.scores()
    with pytest.raises(ValueError, match=f"got {len(pairings) - 1} verdicts for a round of {len(pairings)}"):
        schedule.record(by_index(pairings)[:-1])
    with pytest.raises(ValueError, match="winner=-1"):  # TRL's old judges used -1 for failure
        schedule.record([Verdict(winner=-1)] * len(pairings))
    schedule.record(by_index(pairings))
    with pytest.raises(ValueError, match="already called"):
        schedule.record(by_index(pairings))


@pytest.mark.parametrize("name", ALL_PAIRWISE)
def test_invalid_sizes_and_seed(name):
    tournament = get_tournament(name)
    with pytest.raises(ValueError, match=r"sizes\[1\]=-1"):
        tournament.schedule([2, -1])
    with pytest.raises(ValueError, match=r"sizes\[0\]=2.5"):
        tournament.schedule([2.5])
    with pytest.raises(ValueError, match="seed='x'"):
        tournament.schedule([2], seed="x")


def test_get_tournament_and_validation():
    assert set(TOURNAMENTS) == {
        "knockout", "elo", "round_robin", "bradley_terry", "swiss", "circular", "adaptive", "anchor", "listwise",
        "pointwise",
    }
    assert isinstance(get_tournament("elo", opponents=4), EloTournament)
    assert get_tournament("bradley_terry", opponents=2).opponents == 2
    with pytest.raises(ValueError, match="unknown tournament 'dutch'"):
        get_tournament("dutch")
    with pytest.raises(ValueError, match=r"has no option\(s\) \['k_factor'\]"):
        get_tournament("knockout", k_factor=4)
    bad = [
        (EloTournament, {"opponents": 0}, "opponents=0"),
        (EloTournament, {"opponents": True}, "opponents=True"),
        (EloTournament, {"k_factor": -1.0}, "k_factor=-1.0"),
        (EloTournament, {"k_factor": float("nan")}, "k_factor=nan"),
        (EloTournament, {"passes": 0}, "passes=0"),
        (BradleyTerryTournament, {"opponents": -2}, "opponents=-2"),
        (BradleyTerryTournament, {"prior": 0.0}, "prior=0.0"),
        (BradleyTerryTournament, {"tol": 0}, "tol=0"),
        (BradleyTerryTournament, {"max_iter": 0}, "max_iter=0"),
    ]
    for cls, kwargs, message in bad:
        with pytest.raises(ValueError, match=message):
            cls(**kwargs)


def test_groups_that_cannot_play_finish_at_once():
    def compare(pairings):
        raise AssertionError("no match to judge")

    for name in ALL_PAIRWISE:
        schedule = play(get_tournament(name), [0, 1, 1], compare)
        assert schedule.scores() == [[], [None], [None]] and schedule.results() == []
        assert schedule.next_round() == []  # stays finished


def test_play_loops_rounds_with_one_compare_call_per_round():
    calls = []

    def compare(pairings):
        calls.append(len(pairings))
        return by_index(pairings)

    schedule = play(KnockoutTournament(), [8, 4], compare)
    # Round 1: 4 + 2 matches; round 2: 2 + 1; round 3: the 8-group's final only.
    assert calls == [6, 3, 1]
    assert schedule.scores()[1] == [0.0, 0.0, 0.5, 1.0]


# ---------------------------------------------------------------- knockout


@pytest.mark.parametrize("n", list(range(2, 18)) + [31, 33, 64])
def test_knockout_n_minus_1_matches_and_log2_rounds(n):
    schedule = play(KnockoutTournament(), [n], by_index, seed=n)
    assert len(schedule.results()) == n - 1
    assert schedule.rounds_played == knockout_rounds(n) == math.ceil(math.log2(n))
    (scores,) = schedule.scores()
    assert scores[n - 1] == 1.0  # the strongest is champion
    assert scores.count(1.0) == 1
    # Nobody gets a second bye while another player has had none.
    byes = schedule.groups[0].byes
    assert max(byes) - min(byes) <= 1


def test_knockout_mixed_batch_rounds_follow_the_largest_group():
    sizes = [2, 5, 16, 3]
    schedule = play(KnockoutTournament(), sizes, by_index)
    assert schedule.rounds_played == schedule.rounds == 4
    assert len(schedule.results()) == sum(n - 1 for n in sizes)


def test_knockout_hand_computed():
    # Group of 4 (2 rounds): champion 2/2 = 1.0, finalist 1/2 = 0.5, first-round losers 0.
    # Group of 3 (2 rounds): one player gets a bye (advances 1 round). Strength = index:
    # player 2 is champion (1.0); player 1 reaches the final by bye or by beating 0
    # (1/2 = 0.5) unless it meets 2 in round 1 (then 0.0, and 0 reached the final by bye).
    # Group of 5 (3 rounds): champion 3/3; the final's loser 2/3.
    schedule = play(KnockoutTournament(), [4, 3, 5], by_index, seed=11)
    four, three, five = schedule.scores()
    assert four == [0.0, 0.0, 0.5, 1.0]
    assert three[2] == 1.0 and sorted(three) == [0.0, 0.5, 1.0]
    assert five[4] == 1.0 and sorted(five)[-2] == pytest.approx(2 / 3)
    assert set(five) <= {0.0, 1 / 3, 2 / 3, 1.0}


def knockout_seed(sizes, wanted):
    """The first seed whose round-1 bracket pairs ``wanted`` (unordered pairs) in every group."""
    for seed in range(200):
        round_1 = KnockoutTournament().schedule(sizes, seed=seed).next_round()
        if all({frozenset((p.first, p.second)) for p in round_1 if p.group == g} == wanted for g in range(len(sizes))):
            return seed
    raise AssertionError(f"no seed pairs {wanted}")


def test_knockout_tie_eliminates_both_with_half_a_round():
    # Group of 2: a tie -> (0 + 0.5) / 1 = 0.5 each.
    assert play(KnockoutTournament(), [2], lambda ps: [TIE] * len(ps)).scores() == [[0.5, 0.5]]
    # Group of 4, round 1: 0 ties 1, 3 beats 2. The tied players are out with
    # (0 + 0.5) / 2 = 0.25 each; 3 is left alone and is credited the one round it won
    # (1/2), not the unplayed final.
    seed = knockout_seed([4], {frozenset((0, 1)), frozenset((2, 3))})
    schedule = play(KnockoutTournament(), [4], scripted({(0, 0, 1): "tie", (0, 3, 2): "i"}), seed=seed)
    assert schedule.rounds_played == 1
    assert schedule.scores() == [[0.25, 0.25, 0.0, 0.5]]


def test_knockout_failed_matches_are_missing_not_losses():
    # Group 0, round 1: {0, 1} fails, 3 beats 2 -> 0 and 1 have no valid result: None;
    # 3 keeps its won round (1/2), 2 lost (0).
    # Group 1: 3 beats 2, 1 beats 0, then the final 3 vs 1 fails -> both keep their one
    # won round (1/2); the first-round losers 0.
    seed = knockout_seed([4, 4], {frozenset((0, 1)), frozenset((2, 3))})
    script = {(0, 0, 1): "fail", (0, 3, 2): "i", (1, 3, 2): "i", (1, 1, 0): "i", (1, 3, 1): "fail"}
    schedule = play(KnockoutTournament(), [4, 4], scripted(script), seed=seed)
    assert schedule.scores() == [[None, None, 0.0, 0.5], [0.0, 0.5, 0.0, 0.5]]


def test_knockout_bye_then_failure_is_none():
    # Group of 3: the bye holder's only match (the final) fails -> None: a bye is not a
    # result. The other finalist won a real match: 1/2. The first-round loser: 0.
    schedule = KnockoutTournament().schedule([3], seed=0)
    round_1 = schedule.next_round()
    (p,) = round_1
    bye = ({0, 1, 2} - {p.first, p.second}).pop()
    schedule.record([WIN_FIRST])
    (final,) = schedule.next_round()
    assert {final.first, final.second} == {bye, p.first}
    schedule.record([FAILED])
    assert schedule.next_round() == []
    expected = [None] * 3
    expected[p.first], expected[p.second] = 0.5, 0.0
    assert schedule.scores() == [expected]


# ---------------------------------------------------------------- ELO


def test_elo_hand_computed():
    # 2 players, 1 match, 0 wins: expected 1 / (1 + 10^0) = 0.5, delta = K * (1 - 0.5) = 2
    # -> ratings 1002 / 998 -> rewards (1002 - 1000) / 200 + 0.5 = 0.51 and 0.49.
    assert elo_ratings(2, [(0, 1, 1.0)]) == [1002.0, 998.0]
    # A tie: delta = 4 * (0.5 - 0.5) = 0 -> 1000 each -> 0.5 each.
    assert play(EloTournament(), [2], lambda ps: [TIE]).scores() == [[0.5, 0.5]]
    # 0 beats 1 twice (any order is the same): after the first 1002/998; then
    # expected = 1 / (1 + 10^(-4/400)) = 0.5057562, delta = 4 * (1 - 0.5057562) = 1.9769752
    # -> 1003.9769752 / 996.0230248 -> rewards 0.5198849 / 0.4801151.
    ratings = elo_ratings(2, [(0, 1, 1.0), (1, 0, 0.0)])
    assert ratings == pytest.approx([1003.9769752, 996.0230248])
    assert [elo_reward(r) for r in ratings] == pytest.approx([0.5198849, 0.4801151])
    assert elo_reward(1100.0) == 1.0 and elo_reward(None) is None


def test_elo_round_robin_ties_and_failures():
    # 3 players: 2 beats 0, 1 ties 0, {1, 2} fails. 2 only won (> 1000); 0 lost once and
    # tied once, 1 only tied (with a player who also lost): 2 > 1 > 0.
    script = {(0, 2, 0): "i", (0, 1, 0): "tie", (0, 1, 2): "fail"}
    (scores,) = play(EloTournament(), [3], scripted(script)).scores()
    assert scores[2] > scores[1] > scores[0]
    # Only failures for player 2 -> None, and the others are a plain 2-player ELO.
    script = {(0, 1, 0): "i", (0, 2, 0): "fail", (0, 1, 2): "fail"}
    assert play(EloTournament(), [3], scripted(script)).scores() == [[0.49, 0.51, None]]


def test_elo_passes_make_the_match_order_irrelevant():
    # A cycle (0>1>2>0) plus 0>3: sequential ELO depends on the replay order. With a large
    # K to make that visible: 1 pass in different shuffles moves ratings by several points,
    # the mean of 256 passes by far less.
    results = [(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0), (0, 3, 1.0)]

    def spread(passes):
        runs = [elo_ratings(4, results, k_factor=32.0, passes=passes, rng=random.Random(s)) for s in range(5)]
        return max(max(run[i] for run in runs) - min(run[i] for run in runs) for i in range(4))

    assert spread(1) > 2.0
    assert spread(256) < 0.5
    # The order the results are given in does not matter at all (canonical order first).
    shuffled = [results[i] for i in (3, 1, 0, 2)]
    assert elo_ratings(4, shuffled, rng=random.Random(1)) == elo_ratings(4, results, rng=random.Random(1))
    # And the symmetric cycle members end near 1000 apiece, up to the 0>3 win.
    ratings = elo_ratings(4, results, passes=256, rng=random.Random(0))
    assert ratings[1] == pytest.approx(1000.0, abs=0.1) and ratings[2] == pytest.approx(1000.0, abs=0.1)


def test_elo_random_opponents():
    n, k = 9, 2
    schedule = EloTournament(opponents=k).schedule([n, 2, 3], seed=4)
    pairings = schedule.next_round()
    big = [frozenset((p.first, p.second)) for p in pairings if p.group == 0]
    assert len(big) == len(set(big))  # deduplicated
    assert n * k / 2 <= len(big) <= n * k
    for i in range(n):
        assert sum(i in pair for pair in big) >= k
    # Groups smaller than k + 1: every pair once (the full round robin).
    assert sum(p.group == 1 for p in pairings) == 1 and sum(p.group == 2 for p in pairings) == 3
    schedule.record(by_index(pairings))
    assert schedule.next_round() == []
    scores = schedule.scores()
    assert scores[0][n - 1] == max(scores[0])


# ---------------------------------------------------------------- round robin


def test_round_robin_hand_computed():
    # 0 beats 1 and 2, 1 ties 2: 0 -> 2/2 = 1.0; 1 and 2 -> 0.5/2 = 0.25.
    script = {(0, 0, 1): "i", (0, 0, 2): "i", (0, 1, 2): "tie"}
    assert play(RoundRobinTournament(), [3], scripted(script)).scores() == [[1.0, 0.25, 0.25]]
    # 0 beats 1, 0 ties 2, {1, 2} failed (left out of the denominators):
    # 0 -> 1.5/2 = 0.75; 1 -> 0/1 = 0.0; 2 -> 0.5/1 = 0.5.
    script = {(0, 0, 1): "i", (0, 0, 2): "tie", (0, 1, 2): "fail"}
    assert play(RoundRobinTournament(), [3], scripted(script)).scores() == [[0.75, 0.0, 0.5]]


def test_round_robin_plays_every_pair_once_in_random_orientation():
    schedule = RoundRobinTournament().schedule([6, 5], seed=0)
    pairings = schedule.next_round()
    for g, n in enumerate([6, 5]):
        pairs = [(p.first, p.second) for p in pairings if p.group == g]
        assert len(pairs) == n * (n - 1) // 2
        assert {frozenset(pair) for pair in pairs} == {frozenset((i, j)) for i in range(n) for j in range(i)}
    assert any(p.first < p.second for p in pairings) and any(p.first > p.second for p in pairings)
    schedule.record([TIE] * len(pairings))
    assert schedule.next_round() == []
    assert schedule.scores() == [[0.5] * 6, [0.5] * 5]


# ---------------------------------------------------------------- Bradley-Terry


def test_bradley_terry_one_match_hand_computed():
    # 0 beats 1 once; with the prior each also ties a reference (strength 1) once:
    # W_0 = 1.5, W_1 = 0.5. By symmetry s_1 = 1/s_0 = 1/t, and the ML condition for 0,
    # 1.5 = t/(t + 1/t) + t/(t + 1) = t^2/(t^2 + 1) + t/(t + 1), reduces to
    # t^3 - t^2 - t - 3 = 0 -> t = 2.130395 -> reward_0 = s_0/(s_0 + s_1) = t^2/(t^2 + 1).
    t = 2.0
    for _ in range(50):  # Newton on the cubic
        t -= (t**3 - t**2 - t - 3) / (3 * t**2 - 2 * t - 1)
    s0, s1 = bradley_terry_strengths(2, [(0, 1, 1.0)])
    assert s0 == pytest.approx(t, rel=1e-7) and s1 == pytest.approx(1 / t, rel=1e-7)
    assert play(BradleyTerryTournament(), [2], by_index).scores()[0] == pytest.approx(
        [1 / (t**2 + 1), t**2 / (t**2 + 1)], abs=1e-8
    )


def test_bradley_terry_symmetric_cases_give_one_half():
    # A tie, a 3-cycle, and a group where every match is a tie: all symmetric -> 0.5.
    assert play(BradleyTerryTournament(), [2], lambda ps: [TIE]).scores() == [[0.5, 0.5]]
    cycle = {(0, 0, 1): "i", (0, 1, 2): "i", (0, 2, 0): "i"}
    assert play(BradleyTerryTournament(), [3], scripted(cycle)).scores()[0] == pytest.approx([0.5] * 3)
    assert play(BradleyTerryTournament(), [4], lambda ps: [TIE] * len(ps)).scores()[0] == pytest.approx([0.5] * 4)


def test_bradley_terry_transitive_order_is_strictly_ordered():
    (scores,) = play(BradleyTerryTournament(), [7], by_index, seed=2).scores()
    assert all(0.0 < a < b < 1.0 for a, b in zip(scores, scores[1:]))
    # A perfect record stays finite thanks to the prior, and rewards mirror: r_i + r_(n-1-i) = 1.
    assert all(a + b == pytest.approx(1.0) for a, b in zip(scores, reversed(scores)))


def test_bradley_terry_players_without_results_are_left_out():
    # Player 2's matches both fail: None, and 0 and 1 score exactly like a group of 2.
    script = {(0, 0, 1): "i", (0, 2, 0): "fail", (0, 2, 1): "fail"}
    scores = play(BradleyTerryTournament(), [3], scripted(script)).scores()[0]
    assert scores[2] is None
    assert scores[:2] == pytest.approx(play(BradleyTerryTournament(), [2], scripted({(0, 0, 1): "i"})).scores()[0])


def test_bradley_terry_fit_satisfies_the_likelihood_equations():
    # At the MAP, for every player: W_i = sum_j n_ij s_i/(s_i + s_j) + prior * s_i/(s_i + 1),
    # with W_i = wins + ties/2 + prior/2. Checked on a noisy 12-player round robin with
    # ties and on a strict 16-player order (plain MM converges slowly there).
    rng = random.Random(0)
    noisy = []
    for i in range(12):
        for j in range(i):
            u = rng.random()
            noisy.append((i, j, 0.5 if u < 0.15 else float(u < 0.5 + (i - j) / 30)))
    strict = [(i, j, 1.0) for i in range(16) for j in range(i)]
    for n, results in ((12, noisy), (16, strict)):
        s = bradley_terry_strengths(n, results)
        for i in range(n):
            wins = 0.5 + sum(p if a == i else 1 - p for a, b, p in results if i in (a, b))
            opponents = [b if a == i else a for a, b, _ in results if i in (a, b)]
            expected = s[i] / (s[i] + 1) + sum(s[i] / (s[i] + s[j]) for j in opponents)
            assert wins == pytest.approx(expected, abs=1e-6)
    # The input order of the results does not change the fit.
    assert bradley_terry_strengths(12, noisy[::-1]) == bradley_terry_strengths(12, noisy)


def test_bradley_terry_sparse_opponents():
    (scores,) = play(BradleyTerryTournament(opponents=2), [10], by_index, seed=1).scores()
    assert all(x is not None for x in scores)
    assert scores[9] == max(scores) and scores[0] == min(scores)


# ---------------------------------------------------------------- listwise


def test_listwise_scores():
    # With scores 1..5: (score - 1) / 4.
    ranking = Ranking(order=(1, 2, 0), scores=(2.0, 5.0, 3.0))
    assert listwise_scores(ranking, 3) == [0.25, 1.0, 0.5]
    # Order only: 1 - position / (k - 1): best 1.0, middle 0.5, worst 0.0.
    assert listwise_scores(Ranking(order=(2, 0, 1)), 3) == [0.5, 0.0, 1.0]
    assert listwise_scores(None, 4) == [None] * 4
    assert listwise_scores(None, 0) == []
    with pytest.raises(ValueError, match="not a permutation"):
        listwise_scores(Ranking(order=(0, 1)), 3)
    with pytest.raises(ValueError, match="outside 1..5"):
        listwise_scores(Ranking(order=(0, 1), scores=(6.0, 1.0)), 2)


def test_listwise_tournament_is_a_marker():
    tournament = get_tournament("listwise")
    assert isinstance(tournament, ListwiseTournament) and tournament.is_listwise
    assert not get_tournament("knockout").is_listwise
    with pytest.raises(TypeError, match="judge.rank"):
        tournament.schedule([3])


def test_pairing_is_a_value():
    assert Pairing(0, 1, 2) == Pairing(group=0, first=1, second=2)
    assert len({Pairing(0, 1, 2), Pairing(0, 1, 2)}) == 1


# ---------------------------------------------------------------- soft verdicts (p_first)

SOFT = ["elo", "round_robin", "bradley_terry", "swiss", "circular", "adaptive", "anchor"]  # with the ``soft`` option


def soft_verdict(p):
    """A soft verdict as a judge gives it: winner from p_first, exactly 0.5 a tie."""
    return Verdict(winner=None if p == 0.5 else int(p < 0.5), tie=p == 0.5, p_first=p)


def by_probability(probs):
    """A fake soft judge: ``probs[(g, i, j)]`` is p(i better than j) for the unordered
    pair {i, j} of group g, or "fail"; shown the other way round it answers 1 - p."""

    def compare(pairings):
        out = []
        for p in pairings:
            if (p.group, p.first, p.second) in probs:
                prob = probs[(p.group, p.first, p.second)]
                out.append(FAILED if prob == "fail" else soft_verdict(prob))
            else:
                prob = probs[(p.group, p.second, p.first)]
                out.append(FAILED if prob == "fail" else soft_verdict(1 - prob))
        return out

    return compare


def test_outcome_points_of_first():
    # Hard verdicts: 1 / 0 / 0.5 whatever ``soft``; a failed verdict is None (missing).
    for soft in (True, False):
        assert outcome(WIN_FIRST, soft) == 1.0 and outcome(WIN_SECOND, soft) == 0.0
        assert outcome(TIE, soft) == 0.5 and outcome(FAILED, soft) is None
    # Soft: p_first itself; soft=False: only the winner counts.
    assert outcome(soft_verdict(0.7)) == 0.7 and outcome(soft_verdict(0.7), soft=False) == 1.0
    assert outcome(soft_verdict(0.2)) == 0.2 and outcome(soft_verdict(0.2), soft=False) == 0.0
    assert outcome(soft_verdict(0.5)) == 0.5 and outcome(soft_verdict(0.5), soft=False) == 0.5
    # Failure is decided by winner/tie alone: even a stray p_first does not make it a result.
    assert outcome(Verdict(winner=None, p_first=0.7)) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_round_robin_soft_expected_wins(seed):
    # p(0 > 1) = 0.8, p(0 > 2) = 0.3, p(1 > 2) = 0.6, in whatever presentation order:
    # 0: 0.8 + 0.3 = 1.1 of 2 -> 0.55; 1: (1 - 0.8) + 0.6 = 0.8 of 2 -> 0.4;
    # 2: (1 - 0.3) + (1 - 0.6) = 1.1 of 2 -> 0.55.
    probs = {(0, 0, 1): 0.8, (0, 0, 2): 0.3, (0, 1, 2): 0.6}
    (scores,) = play(RoundRobinTournament(), [3], by_probability(probs), seed=seed).scores()
    assert scores == pytest.approx([0.55, 0.4, 0.55])
    # soft=False: only the winners, 0 > 1, 2 > 0, 1 > 2: a cycle, 1 win of 2 each -> 0.5.
    (hard,) = play(RoundRobinTournament(soft=False), [3], by_probability(probs), seed=seed).scores()
    assert hard == [0.5, 0.5, 0.5]


def test_elo_soft_fractional_actual_score():
    # 2 players, one match, p(0 > 1) = 0.75, K = 4: E = 1 / (1 + 10^0) = 0.5,
    # delta = 4 * (0.75 - 0.5) = 1 -> 1001 / 999 -> (1001 - 1000) / 200 + 0.5 = 0.505 / 0.495.
    assert elo_ratings(2, [(0, 1, 0.75)], k_factor=4.0) == pytest.approx([1001.0, 999.0])
    probs = {(0, 0, 1): 0.75}
    assert play(EloTournament(k_factor=4.0), [2], by_probability(probs)).scores()[0] == pytest.approx([0.505, 0.495])
    # soft=False: a plain win of 0, delta = 4 * (1 - 0.5) = 2 -> 1002 / 998 -> 0.51 / 0.49.
    hard = play(EloTournament(soft=False), [2], by_probability(probs)).scores()[0]
    assert hard == pytest.approx([0.51, 0.49])
    # p_first = 0.5 is a draw: delta = 4 * (0.5 - 0.5) = 0 -> 0.5 each.
    assert play(EloTournament(), [2], by_probability({(0, 0, 1): 0.5})).scores() == [[0.5, 0.5]]


def test_bradley_terry_soft_closed_form():
    # One match, p(0 > 1) = 29/30, prior 1 (one virtual tie each against a reference of
    # strength 1): W_0 = 29/30 + 1/2 = 22/15, W_1 = 1/30 + 1/2 = 8/15. By symmetry of the
    # posterior under (theta_0, theta_1) -> (-theta_1, -theta_0), s_1 = 1/s_0. Try s_0 = 2,
    # s_1 = 1/2 in the likelihood equations W_i = sum_j s_i/(s_i + s_j) + s_i/(s_i + 1):
    #   player 0: 2/(2 + 1/2) + 2/(2 + 1) = 4/5 + 2/3 = 22/15 = W_0
    #   player 1: (1/2)/(1/2 + 2) + (1/2)/(1/2 + 1) = 1/5 + 1/3 = 8/15 = W_1
    # (the optimum is unique) -> rewards s_0/(s_0 + s_1) = 4/5 and 1/5.
    p = 29 / 30
    s0, s1 = bradley_terry_strengths(2, [(0, 1, p)])
    assert s0 == pytest.approx(2.0, rel=1e-7) and s1 == pytest.approx(0.5, rel=1e-7)
    # The same win shown the other way round, (1, 0, 1 - p), is the same fit.
    assert bradley_terry_strengths(2, [(1, 0, 1 - p)]) == pytest.approx([2.0, 0.5], rel=1e-7)
    scores = play(BradleyTerryTournament(), [2], by_probability({(0, 0, 1): p})).scores()[0]
    assert scores == pytest.approx([0.8, 0.2], abs=1e-8)
    # soft=False: a plain win -> the cubic of test_bradley_terry_one_match_hand_computed,
    # t^3 - t^2 - t - 3 = 0, rewards t^2/(t^2 + 1) and 1/(t^2 + 1).
    t = 2.0
    for _ in range(50):
        t -= (t**3 - t**2 - t - 3) / (3 * t**2 - 2 * t - 1)
    hard = play(BradleyTerryTournament(soft=False), [2], by_probability({(0, 0, 1): p})).scores()[0]
    assert hard == pytest.approx([t**2 / (t**2 + 1), 1 / (t**2 + 1)], abs=1e-8)
    # p_first = 0.5 counts like a tie: half a win each -> 0.5 each.
    assert play(BradleyTerryTournament(), [2], by_probability({(0, 0, 1): 0.5})).scores() == [[0.5, 0.5]]


def test_bradley_terry_soft_fit_satisfies_the_likelihood_equations():
    # Fractional wins p / 1 - p for a 10-player round robin with p drawn uniformly: at the
    # MAP, W_i = prior/2 + sum of i's points = sum_j s_i/(s_i + s_j) + prior * s_i/(s_i + 1).
    rng = random.Random(1)
    results = [(i, j, rng.random()) for i in range(10) for j in range(i)]
    s = bradley_terry_strengths(10, results)
    for i in range(10):
        wins = 0.5 + sum(p if a == i else 1 - p for a, b, p in results if i in (a, b))
        opponents = [b if a == i else a for a, b, _ in results if i in (a, b)]
        assert wins == pytest.approx(s[i] / (s[i] + 1) + sum(s[i] / (s[i] + s[j]) for j in opponents), abs=1e-6)


@pytest.mark.parametrize("name", SOFT)
def test_soft_option_changes_nothing_for_hard_verdicts(name):
    # Without p_first, soft=True and soft=False score identically (wins, ties, failures).
    strengths = [[random.Random(g).choice([0, 1, 2, 3]) for _ in range(6)] for g in range(3)]

    def compare(pairings):
        # Every fifth match fails; the rest by strength, equal strengths tie.
        return [FAILED if k % 5 == 0 else v for k, v in enumerate(by_strength(strengths)(pairings))]

    soft = play(get_tournament(name, soft=True), [6, 6, 6], compare, seed=7).scores()
    hard = play(get_tournament(name, soft=False), [6, 6, 6], compare, seed=7).scores()
    assert soft == hard


@pytest.mark.parametrize("name", SOFT)
def test_soft_false_ignores_p_first(name):
    # p(0 > 1) = 0.6 or 0.99: either way 0 wins the one match; with soft=False both score
    # exactly like a hard win of 0.
    for p in (0.6, 0.99):
        soft_false = play(get_tournament(name, soft=False), [2], by_probability({(0, 0, 1): p})).scores()
        hard = play(get_tournament(name), [2], scripted({(0, 0, 1): "i"})).scores()
        assert soft_false == hard
    # And the soft default does use p: 0.6 scores below a clean win for every strategy.
    soft = play(get_tournament(name), [2], by_probability({(0, 0, 1): 0.6})).scores()[0]
    assert 0.5 < soft[0] < hard[0][0]


@pytest.mark.parametrize(
    "name, expected",
    [
        # 0 beats 1 with p = 29/30; {0, 2} and {1, 2} fail: 2 has no result -> None.
        ("round_robin", [29 / 30, 1 / 30, None]),  # p / 1 match and (1 - p) / 1 match
        ("elo", [0.5 + 56 / 30 / 200, 0.5 - 56 / 30 / 200, None]),  # delta = 4 * (29/30 - 1/2) = 56/30
        ("bradley_terry", [0.8, 0.2, None]),  # the 2-player closed form above
    ],
)
def test_soft_failed_verdicts_are_missing_matches(name, expected):
    probs = {(0, 0, 1): 29 / 30, (0, 0, 2): "fail", (0, 1, 2): "fail"}
    (scores,) = play(get_tournament(name), [3], by_probability(probs)).scores()
    assert scores[2] is None
    assert scores[:2] == pytest.approx(expected[:2], abs=1e-8)


def test_knockout_soft_verdicts_go_by_winner():
    # p_first = 0.7: ``first`` advances (1 round of 1 -> 1.0), ``second`` is out (0.0).
    schedule = play(KnockoutTournament(), [2], lambda ps: [soft_verdict(0.7)] * len(ps))
    ((pairing, _),) = schedule.results()
    expected = [None, None]
    expected[pairing.first], expected[pairing.second] = 1.0, 0.0
    assert schedule.scores() == [expected]
    # p_first = 0.3: ``second`` advances.
    schedule = play(KnockoutTournament(), [2], lambda ps: [soft_verdict(0.3)] * len(ps))
    ((pairing, _),) = schedule.results()
    assert schedule.scores()[0][pairing.second] == 1.0 and schedule.scores()[0][pairing.first] == 0.0
    # p_first = 0.5 exactly: a tie, both out with half the round -> 0.5 each.
    assert play(KnockoutTournament(), [2], lambda ps: [soft_verdict(0.5)] * len(ps)).scores() == [[0.5, 0.5]]
    # Group of 4, every verdict p_first = 0.7: the final's ``first`` is champion (2/2 = 1.0),
    # its ``second`` 1/2, and the first-round ``second``s 0; the probability adds nothing.
    schedule = play(KnockoutTournament(), [4], lambda ps: [soft_verdict(0.7)] * len(ps), seed=3)
    results = [p for p, _ in schedule.results()]
    final = results[-1]
    (scores,) = schedule.scores()
    assert scores[final.first] == 1.0 and scores[final.second] == 0.5
    assert sorted(scores) == [0.0, 0.0, 0.5, 1.0]


def test_soft_option_validation():
    for cls in (RoundRobinTournament, EloTournament, BradleyTerryTournament):
        assert cls().soft is True and cls(soft=False).soft is False
        for bad in ("no", 1, None):
            with pytest.raises(ValueError, match=f"soft={bad!r}: must be True or False"):
                cls(soft=bad)
    assert get_tournament("round_robin", soft=False) == RoundRobinTournament(soft=False)
    with pytest.raises(ValueError, match=r"has no option\(s\) \['soft'\]"):
        get_tournament("knockout", soft=False)  # knockout goes by winner only


@pytest.mark.parametrize("name", ALL_PAIRWISE)
def test_record_rejects_bad_p_first(name):
    bad = [
        (Verdict(winner=0, p_first=1.5), r"p_first=1.5: must be None or a probability"),
        (Verdict(winner=0, p_first=float("nan")), r"p_first=nan: must be None or a probability"),
        (Verdict(winner=0, p_first="0.7"), r"p_first='0.7': must be None or a probability"),
        # p(second better) by mistake: winner and p_first disagree.
        (Verdict(winner=1, p_first=0.8), r"p_first=0.8 needs winner=0, tie=False, got winner=1"),
        (Verdict(winner=None, tie=True, p_first=0.6), r"p_first=0.6 needs winner=0"),
        (Verdict(winner=0, p_first=0.5), r"p_first=0.5 needs a tie"),
        # A failed verdict carries no probability.
        (Verdict(winner=None, p_first=0.7), r"p_first=0.7 needs winner=0, tie=False, got winner=None"),
    ]
    for verdict, message in bad:
        schedule = get_tournament(name).schedule([2])
        pairings = schedule.next_round()
        with pytest.raises(ValueError, match=message):
            schedule.record([verdict] * len(pairings))
    # Accepted: the bounds, and numpy reals (a judge may compute p_first with numpy).
    np = pytest.importorskip("numpy")
    for p in (0.0, 1.0, np.float32(0.75), np.float64(0.25)):
        schedule = play(get_tournament(name), [2], lambda ps, p=p: [soft_verdict(p)] * len(ps))
        assert all(x is not None for x in schedule.scores()[0])
