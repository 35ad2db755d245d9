"""The bend model average's numbers stay what they were when its arithmetic is made cheaper: the dashboard shows
the forecast unrounded, so one flipped comparison in a bisection would show. A flipped comparison moves a result by
about half the bisection's QUANTILE_TOLERANCE; a CPU with other vector units (numpy's AVX-512 kernels against
AVX2 ones) moves the inputs of the bisection, and so its results, by a few units in the last place only. The pinned
numbers are compared to within MAX_ULPS of those: the tenth session's VM gave up to 4 ulps against the ninth's."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, ndtr

from analytics.change_point import _bisect, _logsumexp_rows, forecast_with_bends
from analytics.grouping import segments

NOW = 1.7e9
MAX_ULPS = 16  # ~2e-13 relative: a flipped comparison in a bisection moves a result by ~1e-6 or more

# forecast_with_bends's (predicted, low, high) on _learners() as computed by main at ea5508f, before the three
# bisections ran in one pass and logsumexp was inlined: in one batch (the bisections' steps are shared by the
# learners) and each learner alone (the dashboard's case: each bisection takes its own number of steps)
BATCH = [
    ("0x1.1e7879c39fe8ep+6", "-0x1.1a6fbec91f410p+6", "0x1.abb059282f88fp+7"),
    ("0x1.e84b5fae5c4efp+5", "0x1.11ec77f70cde2p+5", "0x1.5d4b3e1ea67f8p+6"),
    ("0x1.ec0fba9a51122p+5", "0x1.3871e1946b216p+5", "0x1.79afa2d85df0ap+6"),
    ("0x1.8edecb9b1612bp+6", "0x1.31ae66af1acf1p+6", "0x1.0218c58af8f16p+7"),
    ("0x1.208fd23bc344ap+6", "0x1.3ecaae1234481p+5", "0x1.a22d97b771f0ap+6"),
    ("0x1.46b373ba0693cp+6", "0x1.01ecb9861c4bcp+6", "0x1.06f9e34e400e8p+7"),
]
ALONE = [
    ("0x1.1e7879c39fe8ep+6", "-0x1.1a6fbec91f410p+6", "0x1.abb059282f88fp+7"),
    ("0x1.e84b5170b51d6p+5", "0x1.11ec77f70cde2p+5", "0x1.5d4b2048ccbc0p+6"),
    ("0x1.ec1015bb1f65ap+5", "0x1.3871aec76b34ap+5", "0x1.79afcff4625b7p+6"),
    ("0x1.8edea42f40caep+6", "0x1.31ae66af1acf1p+6", "0x1.021896230dba6p+7"),
    ("0x1.208fd23bc344ap+6", "0x1.3ecaae1234481p+5", "0x1.a22d97b771f0ap+6"),
    ("0x1.46b335234b4b2p+6", "0x1.01ec558f66f9ap+6", "0x1.06f9e34e400e8p+7"),
]


def _learners():
    """Six learners with 3-24 scores over 40 days, half of them bending half-way, noise sd 5."""
    rng = np.random.default_rng(2026)
    counts = np.array([3, 5, 9, 16, 24, 12])
    learner = np.repeat(np.arange(len(counts)), counts)
    ago = np.concatenate([np.sort(rng.uniform(0.1, 40, c))[::-1] for c in counts])
    rank = np.concatenate([np.arange(c) for c in counts])
    slope = np.array([0.5, -2.0, 0.0, 1.5, -0.8, 3.0])[learner] * (rank >= counts[learner] // 2)
    level = np.array([70, 80, 55, 60, 90, 40])[learner]
    scores = np.clip(level + slope * rank + rng.normal(0, 5, len(rank)), 0, 100)
    return learner, NOW - ago * 86400, scores


def _ulps_apart(forecast, i: int, pinned: tuple[str, str, str]) -> int:
    """The largest distance, in units in the last place, of learner i's (predicted, low, high) from `pinned`."""
    got = np.array([forecast.predicted[i], forecast.low[i], forecast.high[i]], dtype=np.float64)
    want = np.array([float.fromhex(text) for text in pinned])
    assert np.all(np.sign(got) == np.sign(want)), (got, want)
    return int(np.abs(got.view(np.int64) - want.view(np.int64)).max())


def test_the_forecast_gives_mains_numbers():
    learner, times, scores = _learners()
    batch = forecast_with_bends(segments(learner, 6, times), times, scores, NOW, 16, 14.0, 0.9)
    assert [_ulps_apart(batch, i, BATCH[i]) for i in range(6)] <= [MAX_ULPS] * 6
    for i in range(6):
        one = learner == i
        seg = segments(np.zeros(one.sum(), dtype=np.int64), 1, times[one])
        alone = forecast_with_bends(seg, times[one], scores[one], NOW, 16, 14.0, 0.9)
        assert _ulps_apart(alone, 0, ALONE[i]) <= MAX_ULPS, i


def test_rows_bisected_together_take_exactly_their_own_steps():
    """Rows whose brackets need 8 to 24 halvings, and learners within a row that need fewer than the row's widest:
    each row's result is the one its own bisection gives, bit for bit."""
    rng = np.random.default_rng(7)
    centre = rng.normal(0, 50, (3, 5))
    width = np.array([[0.3], [40.0], [5000.0]]) * rng.uniform(0.5, 1, (3, 5))
    low, high = centre - width * rng.uniform(0.1, 0.9, (3, 5)), centre + width
    q = np.array([0.5, 0.05, 0.95])

    def normal_cdfs(centre: np.ndarray):
        return lambda x: ndtr((x - centre) / 7.0)

    together = _bisect(normal_cdfs(centre), q, low, high)
    for row in range(3):
        rows = slice(row, row + 1)
        alone = _bisect(normal_cdfs(centre[rows]), q[rows], low[rows], high[rows])
        assert together[row].tobytes() == alone[0].tobytes(), row


def test_the_inlined_logsumexp_is_scipys_to_the_bit():
    """Random rows with -inf (invalid models), ties at the maximum, +inf, NaN, and values whose exponent
    overflows or underflows."""
    rng = np.random.default_rng(3)
    with np.errstate(all="ignore"):
        for trial in range(600):
            a = rng.normal(0, rng.choice([1e-3, 1.0, 30.0, 800.0]), (rng.integers(1, 30), rng.integers(1, 18)))
            draw = rng.random(a.shape)
            a[draw < 0.2] = -np.inf
            a[(draw >= 0.2) & (draw < 0.23)] = rng.choice([np.inf, np.nan, 0.0, 710.0, -750.0])
            if trial % 5 == 0:
                a[0] = -np.inf
            if trial % 7 == 0:
                a = np.round(a)
            assert _logsumexp_rows(a).tobytes() == logsumexp(a, axis=1, keepdims=True).tobytes(), a


def test_one_learners_bisection_in_python_floats_is_the_vectorised_one_to_the_bit():
    """_bisect_one (one learner: a dashboard open) against the numpy path for the same learner beside an already
    narrow one (a row steps while any of its learners is open; a closed bracket stays as it is): rows needing 8 to
    24 halvings, empty brackets (inf, -inf) and a cdf that gives NaN."""
    rng = np.random.default_rng(11)
    q = np.array([0.5, 0.05, 0.95])
    for trial in range(300):
        centre = rng.normal(0, 50, (3, 1))
        width = np.array([[0.3], [40.0], [5000.0]])[rng.permutation(3)] * rng.uniform(0.5, 1, (3, 1))
        low, high = centre - width * rng.uniform(0.1, 0.9, (3, 1)), centre + width
        if trial % 10 == 0:
            low[1], high[1] = np.inf, -np.inf  # no model used: nothing to bisect
        spread = 7.0 if trial % 7 else np.nan

        def cdfs(x: np.ndarray, centre: np.ndarray = centre, spread: float = spread) -> np.ndarray:
            return ndtr((x - centre[:, : x.shape[1]]) / spread)

        with np.errstate(invalid="ignore"):
            alone = _bisect(cdfs, q, low, high)
            pair = np.hstack([centre, centre])  # the second learner's bracket is [centre, centre]: closed
            vectorised = _bisect(
                lambda x, pair=pair: cdfs(x, pair), q, np.hstack([low, centre]), np.hstack([high, centre])
            )
        assert alone.shape == (3, 1)
        assert alone.tobytes() == vectorised[:, :1].tobytes(), trial
