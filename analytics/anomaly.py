"""Unusual learners: an isolation forest over feature vectors, for patterns no rule names.

The algorithm is scikit-learn's IsolationForest (Liu, Ting and Zhou 2008, with its defaults: 100 trees,
min(256, n) points drawn without replacement per tree, depth limit ceil(log2 of that), a random
non-constant feature and a uniform threshold per split, path length plus c(leaf size), the score
2^(-mean path / c(sample size)), flagged below the `contamination` percentile), grown here for all
trees at once, level by level, in a few numpy operations. scikit-learn grows and walks one tree at a
time with ~7 ms of Python per tree, so its fit cost ~0.7 s per 200-learner section, 90% of a cohort
refresh; this costs a few ms. Draws differ, so individual scores differ as between two seeds of
scikit-learn's; tests/test_analytics_anomaly.py checks that the flagged learners agree with
scikit-learn's as well as two scikit-learn seeds agree with each other.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

TREES = 100
MAX_SAMPLES = 256
GROWN: Counter[str] = Counter()  # forests grown by this process (tests check that a request grows none)


@dataclass(frozen=True)
class Anomalies:
    score: np.ndarray  # higher = more unusual, in (0, 1): 2^(-mean path length / c(sample size))
    flagged: np.ndarray  # bool: among the `contamination` most unusual


def average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n): the mean path length of an unsuccessful search in a binary search tree of n points."""
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        longer = 2.0 * (np.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n
    return np.where(n <= 1, 0.0, np.where(n == 2, 1.0, longer))


@dataclass(frozen=True)
class Forest:
    """Trees as complete binary trees in heap order (children of node k: 2k+1, 2k+2), one row per tree."""

    feature: np.ndarray  # (trees, nodes) split feature, -1 at a leaf
    threshold: np.ndarray  # (trees, nodes) go left when x <= threshold
    size: np.ndarray  # (trees, nodes) training points that ended in the node (leaves only)
    depth_limit: int
    samples: int


def _segment_range(values: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)


def _split_features(xs: np.ndarray, slot: np.ndarray, starts: np.ndarray, rng: np.random.Generator):
    """Per group of slots (sorted, groups beginning at `starts`): a feature drawn uniformly among those not
    constant in the group (-1: every feature is constant, a leaf) and its range in the group. Draws one
    feature per group and redraws where it was constant: one column read per round, not the whole rows."""
    groups, width = len(starts), xs.shape[1]
    counts = np.diff(np.r_[starts, len(slot)])
    feature, low, high = np.full(groups, -1), np.zeros(groups), np.zeros(groups)
    todo = np.flatnonzero(counts > 1)
    for _ in range(2 * width):
        if not len(todo):
            return feature, low, high
        drawn = rng.integers(0, width, len(todo))
        members = np.repeat(np.arange(len(todo)), counts[todo])
        index = _member_index(starts[todo], counts[todo])
        values = xs.take(slot[index] * width + drawn[members])  # flat: cheaper than a 2-D fancy index
        lo, hi = _segment_range(values, np.r_[0, np.cumsum(counts[todo])[:-1]])
        found = hi > lo
        feature[todo[found]], low[todo[found]], high[todo[found]] = drawn[found], lo[found], hi[found]
        todo = todo[~found]
    for g in todo:  # rare: many draws hit constant features; look at every feature of these groups
        rows = xs[slot[starts[g] : starts[g] + counts[g]]]
        spread = np.flatnonzero(rows.max(axis=0) > rows.min(axis=0))
        if len(spread):
            feature[g] = rng.choice(spread)
            low[g], high[g] = rows[:, feature[g]].min(), rows[:, feature[g]].max()
    return feature, low, high


def _member_index(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions starts[i] .. starts[i] + counts[i] - 1 of every group, concatenated."""
    offsets = np.r_[0, np.cumsum(counts)[:-1]]
    return np.repeat(starts - offsets, counts) + np.arange(int(counts.sum()))


def _grow_level(xs: np.ndarray, node: np.ndarray, alive: np.ndarray, level: int, forest: Forest, rng) -> None:
    """Split every node of this level that still holds two or more distinct points, in every tree.
    xs: (trees * samples, features), the drawn points of all trees, tree after tree."""
    samples = forest.samples
    slot = np.flatnonzero(alive)
    group = (slot // samples) * 2**level + node[slot] - (2**level - 1)
    small = len(forest.feature) * 2**level < 2**16  # a stable sort of 16-bit keys is a radix sort
    order = np.argsort(group.astype(np.uint16) if small else group, kind="stable")
    slot, group = slot[order], group[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    feature, low, high = _split_features(xs, slot, starts, rng)
    threshold = low + rng.random(len(starts)) * (high - low)
    splits = feature >= 0
    g_tree, g_node = group[starts] // 2**level, (2**level - 1) + group[starts] % 2**level
    forest.feature[g_tree[splits], g_node[splits]] = feature[splits]
    forest.threshold[g_tree[splits], g_node[splits]] = threshold[splits]
    index = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(slot)]))
    moving = splits[index]
    left = xs.take(slot * xs.shape[1] + np.maximum(feature[index], 0)) <= threshold[index]
    node[slot[moving]] = 2 * node[slot[moving]] + np.where(left[moving], 1, 2)
    alive[slot[~moving]] = False


def grow_forest(X: np.ndarray, trees: int = TREES, seed: int = 0) -> Forest:
    """Isolation trees on random subsamples of the rows of X (n >= 2)."""
    GROWN["forests"] += 1
    rng = np.random.default_rng(seed)
    n = len(X)
    samples = min(MAX_SAMPLES, n)
    depth_limit = int(np.ceil(np.log2(max(samples, 2))))
    if samples == n:  # every tree holds every point (their order within a tree does not matter)
        drawn = np.tile(np.arange(n), trees)
    else:
        drawn = np.argsort(rng.random((trees, n)), axis=1)[:, :samples].ravel()
    xs = X[drawn]
    nodes = 2 ** (depth_limit + 1) - 1
    shape = (trees, nodes)
    forest = Forest(np.full(shape, -1), np.zeros(shape), np.zeros(shape), depth_limit, samples)
    node = np.zeros(trees * samples, dtype=np.int64)
    alive = np.ones(trees * samples, dtype=bool)
    for level in range(depth_limit):
        if not alive.any():
            break
        _grow_level(xs, node, alive, level, forest, rng)
    np.add.at(forest.size, (np.repeat(np.arange(trees), samples), node), 1.0)
    return forest


def path_lengths(forest: Forest, X: np.ndarray) -> np.ndarray:
    """Mean over the trees of each row's depth to its leaf plus c(the leaf's training points)."""
    trees, nodes = forest.feature.shape
    X = np.ascontiguousarray(X)
    base = (np.arange(trees) * nodes)[:, None]  # flat positions: cheaper than 2-D fancy indexing
    column = (np.arange(len(X)) * X.shape[1])[None, :]
    node = np.zeros((trees, len(X)), dtype=np.int64)
    for _ in range(forest.depth_limit):
        at = base + node
        feature = forest.feature.take(at)
        value = X.take(column + np.maximum(feature, 0))
        child = 2 * node + np.where(value <= forest.threshold.take(at), 1, 2)
        node = np.where(feature >= 0, child, node)
    depth = np.floor(np.log2(node + 1.0))
    return (depth + average_path_length(forest.size.take(base + node))).mean(axis=0)


def detect_anomalies(features: np.ndarray, contamination: float = 0.02, seed: int = 0) -> Anomalies:
    """Robust-scale each feature (median/IQR, NaN -> median), then isolate the outliers."""
    X = np.asarray(features, dtype=float)
    if len(X) < 10:
        return Anomalies(np.zeros(len(X)), np.zeros(len(X), dtype=bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature nobody has yet
        median = np.nan_to_num(np.nanmedian(X, axis=0))
    X = np.where(np.isnan(X), median, X)
    spread = np.subtract(*np.percentile(X, [75, 25], axis=0))
    spread[spread == 0] = 1.0
    scaled = (X - median) / spread
    forest = grow_forest(scaled, seed=seed)
    score = 2.0 ** (-path_lengths(forest, scaled) / average_path_length(np.array(forest.samples)))
    offset = np.percentile(-score, 100.0 * contamination)
    return Anomalies(score, -score < offset)
