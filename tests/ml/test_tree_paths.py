"""The compiled one-row tree walk (ml.tree_paths) against XGBoost's own answers, on boosters
trained here: missing values both ways, categorical partitions with codes the model never
saw, trees of uneven depth, the link of each objective."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from ml.tree_paths import TreePaths


def _rows(rng: np.random.Generator, n: int, features: int) -> np.ndarray:
    X = rng.normal(size=(n, features)).astype(np.float32)
    X[rng.random(X.shape) < 0.15] = np.nan  # missing values go each split's default way
    return X


def _walked(paths: TreePaths, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([paths.margin(x) for x in X]), np.array([paths.predict(x) for x in X]),
            paths.contributions(X))


def test_numeric_splits_and_missing_values_score_and_explain_as_xgboost():
    rng = np.random.default_rng(11)
    X = _rows(rng, 3000, 12)
    logit = 1.5 * np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 2]) \
        + np.isnan(X[:, 3])
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(float)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 7, "eta": 0.3,
                         "min_child_weight": 5, "nthread": 1},
                        xgb.DMatrix(X, y), num_boost_round=60)
    paths = TreePaths(booster)
    test = _rows(rng, 400, 12)
    dtest = xgb.DMatrix(test)
    margin, predicted, contributions = _walked(paths, test)
    np.testing.assert_allclose(margin, booster.predict(dtest, output_margin=True), atol=1e-5)
    np.testing.assert_allclose(predicted, booster.predict(dtest), atol=1e-6)
    np.testing.assert_allclose(contributions, booster.predict(
        dtest, pred_contribs=True, approx_contribs=True), atol=1e-5)
    # trees stop at different depths: a shallow one waits at its leaf
    assert len({len(t) for t in booster.get_dump()}) > 1
    np.testing.assert_allclose(paths.contributions(test[0]), contributions[0])


def test_categorical_partitions_unseen_and_negative_codes_as_xgboost():
    rng = np.random.default_rng(5)
    n = 4000
    codes = rng.integers(0, 30, size=n).astype(np.float32)  # many categories: partition splits
    X = np.column_stack([codes, rng.normal(size=n).astype(np.float32)])
    X[rng.random(n) < 0.1, 0] = np.nan
    effect = rng.normal(size=30)
    y = np.where(np.isnan(X[:, 0]), 2.0, effect[np.nan_to_num(X[:, 0]).astype(int)]) + X[:, 1]
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 5, "eta": 0.2,
                         "max_cat_to_onehot": 1, "nthread": 1},
                        xgb.DMatrix(X, y, feature_types=["c", "q"], enable_categorical=True),
                        num_boost_round=40)
    paths = TreePaths(booster)
    assert paths.goes_right.shape[0] > 1  # the model holds categorical splits
    test = np.column_stack([
        np.concatenate([np.arange(30), [np.nan, 30, 45, -1]]).astype(np.float32),
        rng.normal(size=34).astype(np.float32)])
    dtest = xgb.DMatrix(test, feature_types=["c", "q"], enable_categorical=True)
    margin, predicted, _ = _walked(paths, test)
    np.testing.assert_allclose(margin, booster.predict(dtest, output_margin=True), atol=1e-5)
    np.testing.assert_allclose(predicted, booster.predict(dtest), atol=1e-5)


def test_count_objective_links_by_exp_and_other_shapes_are_refused():
    rng = np.random.default_rng(2)
    X = _rows(rng, 1000, 4)
    y = rng.poisson(np.exp(np.nan_to_num(X[:, 0])))
    booster = xgb.train({"objective": "count:poisson", "max_depth": 4, "nthread": 1},
                        xgb.DMatrix(X, y), num_boost_round=20)
    paths = TreePaths(booster)
    test = _rows(rng, 50, 4)
    np.testing.assert_allclose([paths.predict(x) for x in test],
                               booster.predict(xgb.DMatrix(test)), rtol=1e-5)
    with pytest.raises(ValueError, match="one row of 4 features"):
        paths.predict(test[0, :3])
    multi = xgb.train({"objective": "multi:softprob", "num_class": 3, "nthread": 1},
                      xgb.DMatrix(X, rng.integers(0, 3, len(X))), num_boost_round=2)
    with pytest.raises(ValueError, match="one-output models"):
        TreePaths(multi)
