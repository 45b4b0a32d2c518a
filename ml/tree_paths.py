"""An XGBoost tree ensemble as numpy arrays, to explain one row in ~0.1 ms.

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
        self.n_features = int(model["learner"]["learner_model_param"]["num_feature"])
        left, right, feature, threshold, default_left, mean, roots = [], [], [], [], [], [], []
        offset = 0
        for tree in trees:
            lc = np.asarray(tree["left_children"], dtype=np.int64)
            rc = np.asarray(tree["right_children"], dtype=np.int64)
            leaf = lc == -1
            n = len(lc)
            node = np.arange(n)
            left.append(np.where(leaf, node, lc) + offset)  # a leaf stays where it is
            right.append(np.where(leaf, node, rc) + offset)
            feature.append(np.where(leaf, 0, tree["split_indices"]))
            threshold.append(np.asarray(tree["split_conditions"], dtype=np.float32))
            default_left.append(np.asarray(tree["default_left"], dtype=bool))
            # a leaf's value is kept in split_conditions (already scaled by the learning rate)
            leaf_value = np.where(leaf, np.asarray(tree["split_conditions"], dtype=np.float64), 0.0)
            mean.append(_node_means(lc, rc, leaf_value, np.asarray(tree["sum_hessian"], dtype=np.float64)))
            roots.append(offset)
            offset += n
        self.left, self.right = np.concatenate(left), np.concatenate(right)
        self.feature, self.threshold = np.concatenate(feature), np.concatenate(threshold)
        self.default_left, self.mean = np.concatenate(default_left), np.concatenate(mean)
        self.roots = np.asarray(roots)
        self.depth = max(_depth(np.asarray(t["left_children"]), np.asarray(t["right_children"]))
                         for t in trees)
        # what XGBoost adds to the bias besides the root means: the base score's margin
        probe = np.zeros((1, self.n_features), dtype=np.float32)
        xgb_bias = booster.predict(xgb.DMatrix(probe), pred_contribs=True, approx_contribs=True,
                                   validate_features=False)[0, -1]
        self.base_margin = float(xgb_bias) - float(self.mean[self.roots].sum())

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(n_features + 1) contributions in log-odds of one row, the bias last."""
        x = np.asarray(x, dtype=np.float32)
        path = [self.roots]  # every tree's node at each level; credited once, at the end
        node = self.roots
        for _ in range(self.depth):
            value = x[self.feature[node]]
            go_left = np.where(np.isnan(value), self.default_left[node], value < self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
            path.append(node)
        nodes = np.stack(path)
        out = np.empty(self.n_features + 1)
        out[:-1] = np.bincount(self.feature[nodes[:-1]].ravel(),
                               weights=(self.mean[nodes[1:]] - self.mean[nodes[:-1]]).ravel(),
                               minlength=self.n_features)
        out[-1] = self.base_margin + self.mean[self.roots].sum()
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
