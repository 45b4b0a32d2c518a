"""An XGBoost tree ensemble as numpy arrays, to explain one row in ~0.05 ms.

XGBoost's own `predict(pred_contribs=True, approx_contribs=True)` needs a DMatrix and its
thread pool: ~0.5 ms for one row on an idle core, several under load. The API explains one
booking per request, so the same (Saabas) contributions are computed here by walking every
tree at once: each step moves all trees one level down and credits the split's feature with
the change of the node's mean value (the cover-weighted mean of the leaves below it), as
XGBoost's approximate contributions do. Tests check both agree.
"""

from __future__ import annotations

import json

import numpy as np
import xgboost as xgb


class TreePaths:
    def __init__(self, booster: xgb.Booster):
        model = json.loads(booster.save_raw("json"))
        trees = model["learner"]["gradient_booster"]["model"]["trees"]
        self.n_features = n_features = int(model["learner"]["learner_model_param"]["num_feature"])
        n = sum(len(t["left_children"]) for t in trees)
        # Nodes are addressed by twice their index: a node's children sit at 2i (left) and
        # 2i + 1 (right) of `child`, so one step is child[node + go_right]. Where a node's
        # arrays are read at an odd address nothing looks. A leaf steps to the sink (last
        # node), which steps to itself and credits nothing: a tree shallower than the
        # deepest one is credited once per node of its path.
        sink = n
        child = np.full(2 * (n + 1), 2 * sink, dtype=np.int64)
        column = np.zeros(2 * (n + 1), dtype=np.int64)  # where `values` reads the split's input
        threshold = np.zeros(2 * (n + 1), dtype=np.float32)
        credited = np.zeros(2 * (n + 1), dtype=np.int64)  # the parent's split feature
        gain = np.zeros(2 * (n + 1))  # change of the mean value from the parent to the node
        roots, offset = [], 0
        for tree in trees:
            lc = np.asarray(tree["left_children"], dtype=np.int64)
            rc = np.asarray(tree["right_children"], dtype=np.int64)
            split = np.flatnonzero(lc != -1)
            size = len(lc)
            at = 2 * (np.arange(size) + offset)
            # a leaf's value is kept in split_conditions (already scaled by the learning rate)
            conditions = np.asarray(tree["split_conditions"], dtype=np.float64)
            mean = _node_means(lc, rc, np.where(lc == -1, conditions, 0.0),
                               np.asarray(tree["sum_hessian"], dtype=np.float64))
            features = np.asarray(tree["split_indices"], dtype=np.int64)
            child[at[split]] = at[lc[split]]
            child[at[split] + 1] = at[rc[split]]
            # a missing value reads +inf where it goes right, -inf where it goes left (XGBoost
            # goes left when value < threshold): one look-up for both cases
            column[at[split]] = features[split] + n_features * np.asarray(
                tree["default_left"], dtype=bool)[split]
            threshold[at[split]] = conditions[split].astype(np.float32)
            for children in (lc[split], rc[split]):
                credited[at[children]] = features[split]
                gain[at[children]] = mean[children] - mean[split]
            roots.append(2 * offset)
            offset += size
        self.child, self.column, self.threshold = child, column, threshold
        self.credited, self.gain = credited, gain
        self.roots = np.asarray(roots)
        self.depth = max(_depth(np.asarray(t["left_children"]), np.asarray(t["right_children"]))
                         for t in trees)
        # the bias is the same for every row: the root means and the base score's margin
        probe = np.zeros((1, n_features), dtype=np.float32)
        self.bias = float(booster.predict(xgb.DMatrix(probe), pred_contribs=True,
                                          approx_contribs=True, validate_features=False)[0, -1])

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(n_features + 1) contributions in log-odds of one row, the bias last."""
        x = np.asarray(x, dtype=np.float32)
        missing = np.isnan(x)
        values = np.concatenate([np.where(missing, np.inf, x), np.where(missing, -np.inf, x)])
        path = []  # every tree's node at each level below the root; credited once, at the end
        node = self.roots
        for _ in range(self.depth):
            node = self.child[node + (values[self.column[node]] >= self.threshold[node])]
            path.append(node)
        nodes = np.concatenate(path)
        out = np.empty(self.n_features + 1)
        out[:-1] = np.bincount(self.credited[nodes], weights=self.gain[nodes],
                               minlength=self.n_features)
        out[-1] = self.bias
        return out


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
