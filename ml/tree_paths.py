"""An XGBoost tree ensemble as numpy arrays, to explain or score one row in ~0.05 ms.

XGBoost's own `predict(pred_contribs=True, approx_contribs=True)` needs a DMatrix and its
thread pool: ~0.5 ms for one row on an idle core, several under load; even its
`inplace_predict` costs ~0.25 ms of set-up for one row. The API scores one booking or
guest per request, so the same answers are computed here by walking every tree at once:
each step moves all trees one level down (numeric splits by threshold, categorical ones by
XGBoost's partition rule, a missing value its default way). The margin is the bias plus
the change of the node's mean value (the cover-weighted mean of the leaves below it) along
each path; the (Saabas) contributions credit each change to the split's feature, as
XGBoost's approximate contributions do. Tests check both agree with XGBoost.
"""

from __future__ import annotations

import json

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
        n = sum(len(t["left_children"]) for t in trees)
        # Nodes are addressed by twice their index: a node's children sit at 2i (left) and
        # 2i + 1 (right) of `child`, so one step is child[node + go_right]. Where a node's
        # arrays are read at an odd address nothing looks. A leaf steps to the sink (last
        # node), which steps to itself and credits nothing: a tree shallower than the
        # deepest one is credited once per node of its path.
        sink = n
        child = np.full(2 * (n + 1), 2 * sink, dtype=np.int64)
        # where the split reads its input in `values` (see _path); a categorical split reads
        # the last, -inf: its numeric test always fails and `goes_right` decides
        column = np.full(2 * (n + 1), 2 * n_features, dtype=np.int64)
        threshold = np.zeros(2 * (n + 1), dtype=np.float32)
        feature = np.zeros(2 * (n + 1), dtype=np.int64)
        slot = np.zeros(2 * (n + 1), dtype=np.int64)  # a categorical split's row of goes_right
        credited = np.zeros(2 * (n + 1), dtype=np.int64)  # the parent's split feature
        gain = np.zeros(2 * (n + 1))  # change of the mean value from the parent to the node
        leaf = np.zeros(2 * (n + 1), dtype=np.float32)  # a leaf's value (0 elsewhere)
        categorical: list[tuple[list[int], bool]] = []  # per slot: categories going right, default
        roots, offset, root_means = [], 0, 0.0
        for tree in trees:
            lc = np.asarray(tree["left_children"], dtype=np.int64)
            rc = np.asarray(tree["right_children"], dtype=np.int64)
            size = len(lc)
            at = 2 * (np.arange(size) + offset)
            split = np.flatnonzero(lc != -1)
            kinds = np.asarray(tree.get("split_type") or np.zeros(size), dtype=np.int64)
            numeric = split[kinds[split] == 0]
            # a leaf's value is kept in split_conditions (already scaled by the learning rate)
            conditions = np.asarray(tree["split_conditions"], dtype=np.float64)
            mean = _node_means(lc, rc, np.where(lc == -1, conditions, 0.0),
                               np.asarray(tree["sum_hessian"], dtype=np.float64))
            features = np.asarray(tree["split_indices"], dtype=np.int64)
            leaf[at[lc == -1]] = conditions[lc == -1]
            default_left = np.asarray(tree["default_left"], dtype=bool)
            child[at[split]] = at[lc[split]]
            child[at[split] + 1] = at[rc[split]]
            feature[at[split]] = features[split]
            # a missing value reads +inf where it goes right, -inf where it goes left (XGBoost
            # goes left when value < threshold): one look-up for both cases
            column[at[numeric]] = features[numeric] + n_features * default_left[numeric]
            threshold[at[numeric]] = conditions[numeric].astype(np.float32)
            segments = tree.get("categories_segments", [])
            for k, node in enumerate(tree.get("categories_nodes", [])):
                first = segments[k]
                categorical.append((tree["categories"][first:first + tree["categories_sizes"][k]],
                                    bool(default_left[node])))
                slot[at[node]] = len(categorical)
            for children in (lc[split], rc[split]):
                credited[at[children]] = features[split]
                gain[at[children]] = mean[children] - mean[split]
            roots.append(2 * offset)
            root_means += mean[0]
            offset += size
        self.child, self.column, self.threshold = child, column, threshold
        self.feature, self.slot, self.credited, self.gain = feature, slot, credited, gain
        self.leaf = leaf
        self.goes_right = _category_table(categorical) if categorical else None
        self.roots = np.asarray(roots)
        self.depth = max(_depth(np.asarray(t["left_children"]), np.asarray(t["right_children"]))
                         for t in trees)
        # XGBoost's margin: its base score's, then each tree's leaf added in float32, in order
        base = base_margin(float(str(learner["learner_model_param"]["base_score"]).strip("[]")))
        self.base = np.float32(base)
        # the contributions' bias is the same for every row: the base and the root means
        self.bias = float(base) + root_means

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(n_features + 1) contributions in log-odds of one row, the bias last."""
        nodes = np.concatenate(self._path(x))
        out = np.empty(self.n_features + 1)
        out[:-1] = np.bincount(self.credited[nodes], weights=self.gain[nodes],
                               minlength=self.n_features)
        out[-1] = self.bias
        return out

    def margin(self, x: np.ndarray) -> float:
        """The model's raw score of one row (XGBoost's ``output_margin``), summed as XGBoost
        sums it: a float64 sum differs from it by up to 1e-5 of the score."""
        levels = self._path(x)
        # each tree's leaf: its root if that is one, else the one node of its path holding a value
        leaves = self.leaf[self.roots] + self.leaf[np.stack(levels)].sum(axis=0)
        return float(np.cumsum(np.concatenate([[self.base], leaves]), dtype=np.float32)[-1])

    def predict(self, x: np.ndarray) -> float:
        """The model's prediction of one row: its objective's link of the margin, in float32
        as XGBoost computes it."""
        return float(self.link(np.float32(self.margin(x))))

    def _path(self, x: np.ndarray) -> list[np.ndarray]:
        """Every tree's node at each level below the root, for one row."""
        x = np.asarray(x, dtype=np.float32)
        missing = np.isnan(x)
        values = np.concatenate([np.where(missing, np.inf, x), np.where(missing, -np.inf, x),
                                 _NEVER])
        categories = None
        if self.goes_right is not None:  # the column of goes_right each input reads
            known = self.goes_right.shape[1] - 2
            valid = (x >= 0) & (x < known)  # as XGBoost: a negative or unseen code goes left
            categories = np.where(missing, known, np.where(valid, x, known + 1)).astype(np.int64)
        path = []
        node = self.roots
        for _ in range(self.depth):
            right = values[self.column[node]] >= self.threshold[node]
            if categories is not None:
                right |= self.goes_right[self.slot[node], categories[self.feature[node]]]
            node = self.child[node + right]
            path.append(node)
        return path


_NEVER = np.array([-np.inf], dtype=np.float32)


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


def _depth(left: np.ndarray, right: np.ndarray, i: int = 0) -> int:
    return 0 if left[i] == -1 else 1 + max(_depth(left, right, left[i]), _depth(left, right, right[i]))
