"""A click -> conversion funnel with known ground truth, for ESMM/AITM and sample-selection bias.

Every impression gets a true click probability and a true conversion-if-clicked probability;
clicks and conversions are drawn from them. The conversion outcome is drawn for EVERY
impression (``conversion_if_clicked``), so a CVR model can be scored on the entire space,
not only on the clicked impressions it was trained on.
"""

from __future__ import annotations

import numpy as np

from zoo.data.arrays import split_arrays, to_dataset
from zoo.data.sources import DataBundle
from zoo.specs import FeatureSpec, TaskSpec


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def funnel_synthetic(n: int, num_users: int = 2000, num_items: int = 1000, num_categories: int = 20,
                     latent_dim: int = 8, rho: float = 0.3, ctr_bias: float = -2.4,
                     cvr_bias: float = -1.2, seed: int = 0) -> tuple[dict, dict, dict]:
    """Return ``(features, labels, truth)`` numpy dicts for ``n`` impressions.

    Click logit: user.item affinity + context + position effect + ctr_bias. Conversion logit:
    user.item' affinity, where item' is only ``rho``-correlated with the click side, minus a
    price effect, + cvr_bias. Cheap, eye-catching items get clicks that do not convert, so
    the clicked population is a biased sample for CVR.
    """
    rng = np.random.default_rng(seed)
    users = rng.normal(size=(num_users, latent_dim)) / np.sqrt(latent_dim)
    item_click = rng.normal(size=(num_items, latent_dim)) / np.sqrt(latent_dim)
    item_other = rng.normal(size=(num_items, latent_dim)) / np.sqrt(latent_dim)
    item_conv = rho * item_click + np.sqrt(1.0 - rho**2) * item_other
    item_category = rng.integers(0, num_categories, size=num_items)
    category_effect = rng.normal(scale=0.5, size=num_categories)
    item_price = np.exp(rng.normal(loc=3.0, scale=0.8, size=num_items))

    u = rng.integers(0, num_users, size=n)
    i = rng.integers(0, num_items, size=n)
    position = rng.integers(1, 11, size=n)
    context = rng.normal(size=(n, 3))
    log_price = np.log(item_price[i])

    click_logit = (
        2.5 * np.sum(users[u] * item_click[i], axis=1)
        + 0.5 * context[:, 0]
        - 0.15 * (position - 1)
        + 0.3 * (3.0 - log_price)  # cheap items attract clicks...
        + ctr_bias
    )
    conv_logit = (
        2.5 * np.sum(users[u] * item_conv[i], axis=1)
        - 0.7 * (log_price - 3.0)  # ...and expensive items convert less
        + category_effect[item_category[i]]
        + 0.4 * context[:, 1]
        + cvr_bias
    )
    pctr, pcvr = _sigmoid(click_logit), _sigmoid(conv_logit)
    click = rng.random(n) < pctr
    conv_if_clicked = rng.random(n) < pcvr
    conversion = click & conv_if_clicked

    features = {
        "user_id": u[:, None].astype(np.int64),
        "item_id": i[:, None].astype(np.int64),
        "category": item_category[i][:, None].astype(np.int64),
        "position": position[:, None].astype(np.int64),
        "price": ((log_price - 3.0) / 0.8)[:, None].astype(np.float32),
        "context": context.astype(np.float32),
    }
    labels = {
        "ctr": click[:, None].astype(np.float32),
        "cvr": np.where(click, conv_if_clicked, np.nan)[:, None].astype(np.float32),
        "ctcvr": conversion[:, None].astype(np.float32),
    }
    truth = {"pctr": pctr, "pcvr": pcvr, "conversion_if_clicked": conv_if_clicked.astype(np.float32)}
    return features, labels, truth


def funnel_feature_specs(num_users: int, num_items: int, num_categories: int) -> list[FeatureSpec]:
    """Feature specs matching :func:`funnel_synthetic`'s feature dict."""
    return [
        FeatureSpec(name="user_id", kind="categorical", vocab_size=num_users, embedding_dim=16),
        FeatureSpec(name="item_id", kind="categorical", vocab_size=num_items, embedding_dim=16),
        FeatureSpec(name="category", kind="categorical", vocab_size=num_categories, embedding_dim=4),
        FeatureSpec(name="position", kind="categorical", vocab_size=11, embedding_dim=4),
        FeatureSpec(name="price", kind="dense", dim=1),
        FeatureSpec(name="context", kind="dense", dim=3),
    ]


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Exact ROC AUC by ranks (ties averaged)."""
    labels = labels.astype(bool)
    pos, neg = labels.sum(), (~labels).sum()
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks for ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def funnel_source(n: int = 200000, num_users: int = 2000, num_items: int = 1000, num_categories: int = 20,
                  latent_dim: int = 8, rho: float = 0.3, seed: int = 0,
                  splits=(0.8, 0.1, 0.1)) -> DataBundle:
    """DataBundle with tasks ctr, cvr (NaN where not clicked) and ctcvr; the bundle's
    ``extras["evaluate_predictions"]`` scores CVR on ALL test impressions against the drawn
    conversion-if-clicked outcome and the true pCVR (sample-selection bias made measurable)."""
    features, labels, truth = funnel_synthetic(n, num_users, num_items, num_categories, latent_dim, rho, seed=seed)
    arrays = {**{f"f:{k}": v for k, v in features.items()}, **{f"l:{k}": v for k, v in labels.items()},
              **{f"t:{k}": v for k, v in truth.items()}}
    parts = split_arrays(arrays, splits, seed)

    def unpack(part, prefix):
        return {k[2:]: v for k, v in part.items() if k.startswith(prefix)}

    datasets = [to_dataset(unpack(s, "f:"), unpack(s, "l:")) for s in parts]
    test_truth = unpack(parts[2], "t:")

    def evaluate_predictions(predictions: dict) -> dict:
        """Entire-space CVR quality: AUC vs conversion-if-clicked, and vs the true pCVR ranking."""
        if "cvr" not in predictions:
            return {}
        cvr = np.asarray(predictions["cvr"]).reshape(-1)
        return {
            "cvr_auc_entire_space": _auc(test_truth["conversion_if_clicked"], cvr),
            "cvr_corr_true_pcvr": float(np.corrcoef(cvr, test_truth["pcvr"])[0, 1]),
        }

    return DataBundle(
        features=funnel_feature_specs(num_users, num_items, num_categories),
        tasks=[TaskSpec(name="ctr", kind="binary"), TaskSpec(name="cvr", kind="binary"),
               TaskSpec(name="ctcvr", kind="binary")],
        train=datasets[0],
        validation=datasets[1],
        test=datasets[2],
        extras={"evaluate_predictions": evaluate_predictions},
        stats={"ctr_rate": float(labels["ctr"].mean()), "cvr_rate_on_clicks": float(np.nanmean(labels["cvr"]))},
        description=(f"Synthetic click->conversion funnel: n={n} impressions, {num_users} users, "
                     f"{num_items} items, rho={rho}, seed {seed}"),
    )
