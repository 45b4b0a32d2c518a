"""An XGBoost tree ensemble walked for one row in ~0.02 ms: its score and its explanation.

XGBoost's own `predict(pred_contribs=True, approx_contribs=True)` needs a DMatrix and its
thread pool: ~0.5 ms for one row on an idle core, several under load; even its
`inplace_predict` costs ~0.25 ms of set-up for one row. The API scores one booking or
guest per request, so the same answers are computed here, compiled by numba: each step
moves every tree one level down (numeric splits by threshold, categorical ones by
XGBoost's partition rule, a missing value its default way), trees side by side so that
their memory reads overlap. The margin is the bias plus the change of the node's mean value
(the cover-weighted mean of the leaves below it) along each path; the (Saabas)
contributions credit each change to the split's feature, as XGBoost's approximate
contributions do. Tests check both agree with XGBoost.

Between two requests other work evicts the trees from the CPU's caches, so what a request
pays is mostly memory reads: a node is one 16-byte record (four per cache line) holding all
that a step reads, where separate numpy arrays cost a cache line per field; two children
sit side by side, and the nodes are numbered level by level across the trees, so that the
top levels, which every row reads, take few lines.
"""

from __future__ import annotations

import json

import numba
import numpy as np
import xgboost as xgb


def _identity(v):
    return v


def _sigmoid(m):
    return 1.0 / (1.0 + np.exp(-m))


def _logit(p):
    return np.log(p / (1.0 - p))


# Per objective: how a margin becomes the prediction (what XGBoost's predict applies), and
# how the base score (a prediction) becomes a margin.
OBJECTIVES = {
    **{name: (_identity, _identity) for name in (
        "reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "reg:quantileerror")},
    **{name: (_sigmoid, _logit) for name in ("binary:logistic", "reg:logistic")},
    **{name: (np.exp, np.log) for name in ("count:poisson", "reg:gamma", "reg:tweedie")},
}


# One node: where its children are (side by side: the left one, -1 for a leaf), what its split
# reads (>= 0: a column of `values`, see _values; < 0: minus its row of `goes_right`, a
# categorical split), its threshold (a leaf: its value), and the change of the mean value
# from its parent, which reaching it credits to the parent's split feature.
NODE = np.dtype([("left", np.int32), ("split", np.int32), ("threshold", np.float32),
                 ("gain", np.float32)], align=True)


class TreePaths:
    def __init__(self, booster: xgb.Booster):
        model = json.loads(booster.save_raw("json"))
        learner = model["learner"]
        objective = learner["objective"]["name"]
        if objective not in OBJECTIVES or int(learner["learner_model_param"].get("num_target", 1)) > 1:
            raise ValueError(f"TreePaths walks one-output models of {sorted(OBJECTIVES)}, not {objective}")
        self.link, base_margin = OBJECTIVES[objective]
        trees = learner["gradient_booster"]["model"]["trees"]
        self.n_features = n_features = int(learner["learner_model_param"]["num_feature"])
        # every tree's nodes in one numbering (XGBoost's, shifted by the tree's offset)
        left, right, split, value, gain = [], [], [], [], []
        categorical: list[tuple[list[int], bool]] = []  # per slot: categories going right, default
        slot_feature, roots, offset, root_means = [0], [], 0, 0.0
        for tree in trees:
            lc = np.asarray(tree["left_children"], dtype=np.int64)
            rc = np.asarray(tree["right_children"], dtype=np.int64)
            is_split = lc != -1
            # a leaf's value is kept in split_conditions (already scaled by the learning rate)
            conditions = np.asarray(tree["split_conditions"], dtype=np.float64)
            mean = _node_means(lc, rc, np.where(is_split, 0.0, conditions),
                               np.asarray(tree["sum_hessian"], dtype=np.float64))
            features = np.asarray(tree["split_indices"], dtype=np.int64)
            default_left = np.asarray(tree["default_left"], dtype=bool)
            # a missing value reads +inf where it goes right, -inf where it goes left (XGBoost
            # goes left when value < threshold): one look-up for both cases
            reads = features + n_features * default_left
            segments = tree.get("categories_segments", [])
            for k, node in enumerate(tree.get("categories_nodes", [])):
                first = segments[k]
                categorical.append((tree["categories"][first:first + tree["categories_sizes"][k]],
                                    bool(default_left[node])))
                slot_feature.append(int(features[node]))
                reads[node] = -len(categorical)
            node_gain = np.zeros(len(lc))
            node_gain[lc[is_split]] = mean[lc[is_split]] - mean[is_split]
            node_gain[rc[is_split]] = mean[rc[is_split]] - mean[is_split]
            left.append(np.where(is_split, lc + offset, -1))
            right.append(np.where(is_split, rc + offset, -1))
            split.append(np.where(is_split, reads, 0))
            value.append(conditions)  # a split's threshold, a leaf's value
            gain.append(node_gain)
            roots.append(offset)
            root_means += mean[0]
            offset += len(lc)
        left, right = np.concatenate(left), np.concatenate(right)
        # A new numbering, level by level across the trees: every row reads one node of each
        # tree per level, so the roots (and each level's nodes of neighbouring trees) share
        # cache lines, and two children sit side by side: a step reads one line.
        at = np.full(offset, -1, dtype=np.int64)
        level = np.asarray(roots, dtype=np.int64)
        at[level] = np.arange(len(level))
        placed, self.depth = len(level), 0  # depth: the deepest tree's number of steps
        while True:
            parents = level[left[level] != -1]
            if not parents.size:
                break
            children = np.column_stack([left[parents], right[parents]]).ravel()
            at[children] = placed + np.arange(children.size)
            placed += children.size
            level, self.depth = children, self.depth + 1
        reached = at >= 0  # a node no path reaches (were XGBoost to keep a pruned one) is left out
        nodes = np.zeros(placed, dtype=NODE)
        nodes[at[reached]] = np.rec.fromarrays(
            [np.where(left != -1, at[left], -1), np.concatenate(split),
             np.concatenate(value).astype(np.float32), np.concatenate(gain).astype(np.float32)],
            dtype=NODE)[reached]
        self.nodes = nodes
        # row 0 is never read (a numeric split's `split` is >= 0)
        self.goes_right = (_category_table(categorical) if categorical
                           else np.zeros((1, 2), dtype=np.bool_))
        self.slot_feature = np.asarray(slot_feature, dtype=np.int32)
        self.roots = at[roots].astype(np.int32)
        # XGBoost's margin: its base score's, then each tree's leaf added in float32, in order
        base = base_margin(float(str(learner["learner_model_param"]["base_score"]).strip("[]")))
        self.base = np.float32(base)
        # the contributions' bias is the same for every row: the base and the root means
        self.bias = float(base) + root_means

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """The (n_features + 1) contributions in log-odds of each row of X, the bias last:
        (rows, n_features + 1) for a matrix, (n_features + 1) for one row."""
        X = np.asarray(X, dtype=np.float32)
        rows = X if X.ndim == 2 else X[None, :]
        out = np.zeros((len(rows), self.n_features + 1))
        for x, o in zip(rows, out):
            self._leaves(x, o)
        out[:, -1] = self.bias
        return out if X.ndim == 2 else out[0]

    def margin(self, x: np.ndarray) -> float:
        """The model's raw score of one row (XGBoost's ``output_margin``), summed as XGBoost
        sums it: a float64 sum differs from it by up to 1e-5 of the score."""
        leaves = self._leaves(x, np.zeros(self.n_features + 1))
        return float(_leaf_sum(self.nodes, leaves, self.base))

    def predict(self, x: np.ndarray) -> float:
        """The model's prediction of one row: its objective's link of the margin, in float32
        as XGBoost computes it."""
        return float(self.link(np.float32(self.margin(x))))

    def _leaves(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Each tree's leaf for one row; what each step credits is added to `out`."""
        x = np.asarray(x, dtype=np.float32)
        if x.shape != (self.n_features,):
            raise ValueError(f"one row of {self.n_features} features expected, not shape {x.shape}")
        return _walk(x, self.roots, self.nodes, self.goes_right, self.slot_feature, self.depth, out)


@numba.njit(cache=True, nogil=True)
def _values(x):
    """What a numeric split reads: column i holds feature i with a missing value as +inf
    (it goes right), column n + i with -inf (it goes left)."""
    n = x.shape[0]
    values = np.empty(2 * n, dtype=np.float32)
    for i in range(n):
        v = x[i]
        missing = np.isnan(v)
        values[i] = np.inf if missing else v
        values[n + i] = -np.inf if missing else v
    return values


@numba.njit(cache=True, nogil=True)
def _walk(x, roots, nodes, goes_right, slot_feature, depth, out):
    """Every tree from its root to its leaf for one row: adds what each step credits to
    `out` (per feature) and returns each tree's leaf. The step is written out here: as a
    function of its own numba compiles it about 4x slower."""
    n = x.shape[0]
    values = _values(x)
    known = goes_right.shape[1] - 2
    node = roots.copy()
    for _ in range(depth):
        for t in range(node.shape[0]):  # trees side by side: their reads overlap
            r = nodes[node[t]]
            if r.left < 0:  # a leaf: a tree shallower than the deepest one waits there
                continue
            s = r.split
            if s < 0:  # XGBoost's partition rule: a negative or unseen code goes left
                feature = slot_feature[-s]
                v = x[feature]
                category = known if np.isnan(v) else int(v) if 0 <= v < known else known + 1
                right = goes_right[-s, category]
            else:
                feature = s - n if s >= n else s
                right = values[s] >= r.threshold
            child = r.left + 1 if right else r.left
            node[t] = child
            out[feature] += nodes[child].gain
    return node


@numba.njit(cache=True, nogil=True)
def _leaf_sum(nodes, leaves, base):
    """Each tree's leaf value added in float32, in order, as XGBoost sums them."""
    margin = base
    for t in range(leaves.shape[0]):
        margin = np.float32(margin + nodes[leaves[t]].threshold)
    return margin


def _category_table(splits: list[tuple[list[int], bool]]) -> np.ndarray:
    """``goes_right[slot, category]``: row 0 (numeric splits) never; a categorical split's
    row: its categories go right (XGBoost's partition rule), a missing value (column
    `known`) goes its default way, an invalid or unseen code (column `known` + 1) left."""
    known = 1 + max((max(cats) for cats, _ in splits if cats), default=0)
    table = np.zeros((len(splits) + 1, known + 2), dtype=bool)
    for row, (cats, default_left) in enumerate(splits, start=1):
        table[row, cats] = True
        table[row, known] = not default_left
    return table


def _node_means(left: np.ndarray, right: np.ndarray, leaf_value: np.ndarray,
                cover: np.ndarray) -> np.ndarray:
    """Cover-weighted mean of the leaf values below each node (a leaf: its value)."""
    mean = leaf_value.copy()

    def fill(i: int) -> float:
        if left[i] != -1:
            l, r = fill(left[i]), fill(right[i])
            mean[i] = (l * cover[left[i]] + r * cover[right[i]]) / cover[i]
        return mean[i]

    fill(0)
    return mean
