"""The MMoE paper's generator and the click->conversion funnel behave as specified."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.data.funnel import _auc, funnel_source, funnel_synthetic
from zoo.data.synthetic import mmoe_synthetic, mmoe_synthetic_source


@pytest.mark.parametrize("p", [1.0, 0.9, 0.5, 0.0, -0.5])
def test_linear_label_correlation_tracks_p(p):
    _, y1, y2 = mmoe_synthetic(40000, d=50, p=p, m=0, seed=3)
    assert abs(np.corrcoef(y1, y2)[0, 1] - p) < 0.03


def test_generator_is_deterministic_and_seed_sensitive():
    a = mmoe_synthetic(100, seed=1)
    b = mmoe_synthetic(100, seed=1)
    c = mmoe_synthetic(100, seed=2)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])


def test_weights_follow_the_papers_construction():
    """With m = 0 and no noise, y_k = w_k.x exactly, |w_k| = c and cos(w1, w2) = p."""
    x, y1, y2 = mmoe_synthetic(500, d=20, p=0.3, c=2.0, m=0, noise_var=0.0, seed=0)
    w1, *_ = np.linalg.lstsq(x.astype(float), y1.astype(float), rcond=None)
    w2, *_ = np.linalg.lstsq(x.astype(float), y2.astype(float), rcond=None)
    np.testing.assert_allclose([np.linalg.norm(w1), np.linalg.norm(w2)], [2.0, 2.0], rtol=1e-4)
    np.testing.assert_allclose(w1 @ w2 / 4.0, 0.3, atol=1e-4)


def test_source_splits_and_specs():
    bundle = mmoe_synthetic_source(n=1000, d=10, splits=(0.8, 0.1, 0.1))
    assert [f.name for f in bundle.features] == ["x"] and [t.name for t in bundle.tasks] == ["y1", "y2"]
    assert int(bundle.train.cardinality()) == 800 and int(bundle.test.cardinality()) == 100
    x, y = next(iter(bundle.train))
    assert x["x"].shape == (10,) and y["y1"].shape == (1,)


def test_funnel_keeps_ground_truth_for_every_impression():
    f, labels, truth = funnel_synthetic(20000, seed=0)
    click = labels["ctr"][:, 0] == 1
    assert np.isnan(labels["cvr"][~click, 0]).all() and not np.isnan(labels["cvr"][click, 0]).any()
    np.testing.assert_array_equal(labels["ctcvr"][:, 0], (click & (truth["conversion_if_clicked"] == 1)))
    assert truth["pcvr"].shape == (20000,) and len(truth["conversion_if_clicked"]) == 20000
    # Sample-selection bias: the clicked population converts more than the entire space.
    assert np.nanmean(labels["cvr"]) > truth["pcvr"].mean() + 0.02


def test_funnel_entire_space_evaluation_scores_the_true_probability_best():
    bundle = funnel_source(n=20000, seed=1)
    truth_auc = bundle.extras["evaluate_predictions"]
    rng = np.random.default_rng(0)
    noise = truth_auc({"cvr": rng.random(2000)})
    assert abs(noise["cvr_auc_entire_space"] - 0.5) < 0.05


def test_exact_auc_matches_pairs():
    labels = np.array([1, 0, 1, 0, 1])
    scores = np.array([0.9, 0.8, 0.3, 0.3, 0.5])
    pairs = [(s1 > s0) + 0.5 * (s1 == s0) for s1 in scores[labels == 1] for s0 in scores[labels == 0]]
    assert _auc(labels, scores) == pytest.approx(np.mean(pairs))
