"""Combination rules of the balancers on hand-made task gradients and losses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from zoo.training.balancers import BALANCERS, get_balancer
from zoo.training.balancers.cagrad import cagrad_dual, cagrad_objective, project_to_simplex
from zoo.training.balancers.dwa import dwa_weights
from zoo.training.balancers.famo import famo_logit_signal, famo_weights
from zoo.training.balancers.gradnorm import gradnorm_weight_gradient
from zoo.training.balancers.mgda import min_norm_weights
from zoo.training.balancers.nash_mtl import nash_weights
from zoo.training.balancers.pcgrad import pcgrad_coefficients


def _built(name: str, n: int = 2, kinds=None, **params):
    b = get_balancer(name, **params)
    b.build([f"t{i}" for i in range(n)], [1.0] * n, kinds)
    return b


def _simplex_grid(n: int, steps: int) -> np.ndarray:
    if n == 2:
        g = np.linspace(0.0, 1.0, steps)
        return np.stack([g, 1.0 - g], 1)
    pts = [(i, j) for i in range(steps) for j in range(steps - i)]
    a = np.array(pts, np.float64) / (steps - 1)
    return np.concatenate([a, 1.0 - a.sum(1, keepdims=True)], 1)


def test_registry_has_every_method():
    assert set(BALANCERS) == {"static", "uncertainty", "dwa", "gradnorm", "pcgrad", "cagrad", "mgda", "nash_mtl", "famo"}
    with pytest.raises(ValueError, match="unknown balancer"):
        get_balancer("nope")
    with pytest.raises(ValueError, match="pcgrad"):
        get_balancer({"name": "pcgrad", "bogus": 1})


# --------------------------------------------------------------------------- PCGrad
def test_pcgrad_removes_exactly_the_conflicting_component():
    g = tf.constant([[1.0, 0.0], [-1.0, 1.0]])
    out = _built("pcgrad").combine_gradients(g, tf.ones([2])).numpy()
    # g1' = g1 - (g1·g2/|g2|²) g2 = [0.5, 0.5]; g2' = g2 - (g2·g1/|g1|²) g1 = [0, 1]
    np.testing.assert_allclose(out, [0.5, 1.5], atol=1e-6)
    g1p = np.array([1.0, 0.0]) - (-1.0 / 2.0) * np.array([-1.0, 1.0])
    assert abs(g1p @ np.array([-1.0, 1.0])) < 1e-7  # no component left along the conflicting g2


def test_pcgrad_leaves_agreeing_gradients_alone():
    g = tf.constant([[1.0, 0.0, 2.0], [1.0, 1.0, 0.0]])
    out = _built("pcgrad").combine_gradients(g, tf.ones([2])).numpy()
    np.testing.assert_allclose(out, [2.0, 1.0, 2.0], atol=1e-6)


def test_pcgrad_three_tasks_matches_vector_space_projection_for_every_order():
    rng = np.random.default_rng(1)
    g = rng.normal(size=(3, 5))
    gram = tf.constant(g @ g.T, tf.float32)
    for perm in itertools.permutations(range(3)):
        order = np.array([perm] * 3)
        expected = np.zeros(5)
        for i in range(3):
            gi = g[i].copy()
            for j in perm:
                if j != i and gi @ g[j] < 0:
                    gi -= (gi @ g[j]) / (g[j] @ g[j]) * g[j]
            expected += gi
        coef = pcgrad_coefficients(gram, tf.constant(order)).numpy()
        np.testing.assert_allclose(coef @ g, expected, atol=1e-5)


def test_pcgrad_order_is_random_across_steps_but_reproducible():
    a, b = _built("pcgrad", 4, seed=3), _built("pcgrad", 4, seed=3)
    orders_a = [a.random_order().numpy() for _ in range(5)]
    orders_b = [b.random_order().numpy() for _ in range(5)]
    for oa, ob in zip(orders_a, orders_b, strict=False):
        np.testing.assert_array_equal(oa, ob)
    assert len({o.tobytes() for o in orders_a}) > 1
    assert all(sorted(row) == [0, 1, 2, 3] for o in orders_a for row in o.tolist())


# ----------------------------------------------------------------------------- MGDA
def test_mgda_two_vector_closed_form():
    g = np.array([[1.0, 0.0], [0.0, 2.0]])
    out = _built("mgda").combine_gradients(tf.constant(g, tf.float32), tf.ones([2])).numpy()
    # γ = (g2 - g1)·g2 / |g1 - g2|² = 4/5 -> d = 0.8 g1 + 0.2 g2
    np.testing.assert_allclose(out, [0.8, 0.4], atol=1e-6)
    assert abs(out @ (g[0] - g[1])) < 1e-6  # min-norm point is orthogonal to the hull's edge


def test_mgda_picks_the_shorter_vector_when_it_is_the_min_norm_point():
    g = tf.constant([[1.0, 0.0], [2.0, 0.0]])
    np.testing.assert_allclose(min_norm_weights(tf.matmul(g, g, transpose_b=True)).numpy(), [1.0, 0.0], atol=1e-6)


def test_mgda_three_tasks_reaches_the_min_norm_of_the_hull():
    rng = np.random.default_rng(2)
    grid = _simplex_grid(3, 301)
    for _ in range(4):
        g = rng.normal(size=(3, 6))
        m = g @ g.T
        alpha = min_norm_weights(tf.constant(m, tf.float32)).numpy()
        assert np.all(alpha >= -1e-7) and abs(alpha.sum() - 1.0) < 1e-5
        best = np.einsum("ij,jk,ik->i", grid, m, grid).min()
        assert alpha @ m @ alpha <= best + 1e-4


def test_mgda_ignores_a_task_without_gradient():
    g = tf.constant([[1.0, 1.0], [0.0, 0.0]])
    out = _built("mgda").combine_gradients(g, tf.constant([1.0, 0.0])).numpy()
    np.testing.assert_allclose(out, [1.0, 1.0], atol=1e-6)


# ---------------------------------------------------------------------------- CAGrad
def test_cagrad_with_c_zero_is_the_mean_gradient():
    g = tf.constant([[1.0, 0.0, 3.0], [-2.0, 1.0, 0.0], [0.5, -1.0, 1.0]])
    out = _built("cagrad", 3, c=0.0).combine_gradients(g, tf.ones([3])).numpy()
    np.testing.assert_allclose(out, g.numpy().mean(0), atol=1e-6)


@pytest.mark.parametrize("n", [2, 3])
def test_cagrad_dual_is_solved_to_the_grid_optimum(n):
    rng = np.random.default_rng(n)
    grid = _simplex_grid(n, 20001 if n == 2 else 301)
    for _ in range(4):
        g = rng.normal(size=(n, 5))
        m = g @ g.T
        rho = 0.5 * np.linalg.norm(g.mean(0))
        w = cagrad_dual(tf.constant(m, tf.float32), tf.constant(rho, tf.float32))
        value = float(cagrad_objective(w, tf.constant(m, tf.float32), tf.constant(rho, tf.float32)))
        grid_values = grid @ m.mean(1) + rho * np.sqrt(np.einsum("ij,jk,ik->i", grid, m, grid))
        assert value <= grid_values.min() + 1e-4


def test_cagrad_direction_improves_the_worst_task_more_than_the_mean():
    g = tf.constant([[1.0, 0.1], [-0.8, 0.3]])
    gn = g.numpy()
    d = _built("cagrad", c=0.8, rescale=False).combine_gradients(g, tf.ones([2])).numpy()
    mean = gn.mean(0)
    assert np.min(gn @ d) > np.min(gn @ mean)
    assert np.linalg.norm(d - mean) <= 0.8 * np.linalg.norm(mean) + 1e-5  # inside the ball


def test_simplex_projection():
    np.testing.assert_allclose(project_to_simplex(tf.constant([0.2, 0.2, 0.2])).numpy(), [1 / 3] * 3, atol=1e-6)
    np.testing.assert_allclose(project_to_simplex(tf.constant([2.0, 0.0, -1.0])).numpy(), [1.0, 0.0, 0.0], atol=1e-6)


# -------------------------------------------------------------------------- Nash-MTL
@pytest.mark.parametrize("n", [2, 3])
def test_nash_weights_satisfy_their_equation(n):
    rng = np.random.default_rng(10 + n)
    for _ in range(3):
        g = rng.normal(size=(n, 7)) * rng.uniform(0.1, 10.0, size=(n, 1))
        m = g @ g.T
        alpha = nash_weights(tf.constant(m, tf.float64), ridge=0.0).numpy()
        assert np.all(alpha > 0)
        np.testing.assert_allclose(m @ alpha, 1.0 / alpha, rtol=1e-6)
        assert abs(alpha @ m @ alpha - n) < 1e-6  # hence |d|² = T


def test_nash_orthogonal_gradients_get_inverse_norm_weights():
    g = tf.constant([[2.0, 0.0], [0.0, 0.5]])
    b = _built("nash_mtl")
    out = b.combine_gradients(g, tf.ones([2]))
    np.testing.assert_allclose(b.task_weights().numpy(), [0.5, 2.0], rtol=1e-4)  # α_t = 1/|g_t|
    np.testing.assert_allclose(out.numpy(), [1.0, 1.0], atol=1e-4)


# -------------------------------------------------------------------------- GradNorm
def test_gradnorm_weight_gradient_worked_example():
    # n = [2, 1], L/L0 = [0.5, 1] -> r = [2/3, 4/3]; G = w n = [2, 1], mean 1.5;
    # target (α = 1) = [1, 2]; ∂/∂w Σ|G - target| = sign(G - target) n = [2, -1]
    grad = gradnorm_weight_gradient(
        tf.constant([1.0, 1.0]), tf.constant([2.0, 1.0]), tf.constant([0.5, 1.0]), tf.constant([1.0, 1.0]), 1.0
    )
    np.testing.assert_allclose(grad.numpy(), [2.0, -1.0])


def test_gradnorm_step_and_renormalisation():
    b = _built("gradnorm", alpha=1.0)
    gram = tf.constant([[4.0, 0.0], [0.0, 1.0]])  # norms [2, 1]
    b.combine_losses(tf.constant([1.0, 1.0]), tf.constant([1.0, 1.0]), gram)  # records L(0)
    w = b.trainable_variables[0]
    with tf.GradientTape() as tape:
        total = b.combine_losses(tf.constant([0.5, 1.0]), tf.constant([0.5, 1.0]), gram)
    np.testing.assert_allclose(tape.gradient(total, w.value).numpy(), [2.0, -1.0])
    w.assign([1.5, 0.3])
    b.after_update()
    np.testing.assert_allclose(b.task_weights().numpy(), [2 * 1.5 / 1.8, 2 * 0.3 / 1.8], rtol=1e-6)


# ------------------------------------------------------------------------------- DWA
def test_dwa_weights_worked_example():
    w = dwa_weights([1.0, 0.5], [1.0, 1.0], temperature=2.0)
    e1, e2 = np.exp(0.5), np.exp(0.25)
    np.testing.assert_allclose(w, [2 * e1 / (e1 + e2), 2 * e2 / (e1 + e2)])


def test_dwa_epoch_updates():
    b = _built("dwa")
    b.on_epoch_end(0, {"t0_loss": 1.0, "t1_loss": 1.0})
    np.testing.assert_allclose(b.task_weights().numpy(), [1.0, 1.0])  # first two epochs: 1
    b.on_epoch_end(1, {"t0_loss": 1.0, "t1_loss": 0.5})
    np.testing.assert_allclose(b.task_weights().numpy(), dwa_weights([1.0, 0.5], [1.0, 1.0], 2.0), rtol=1e-6)
    total = b.combine_losses(tf.constant([2.0, 3.0]))
    np.testing.assert_allclose(float(total), float(b.task_weights().numpy() @ [2.0, 3.0]), rtol=1e-6)


# ------------------------------------------------------------------------------ FAMO
def test_famo_weights_worked_example():
    w = famo_weights(tf.zeros([2]), tf.constant([1.0, 2.0]), tf.zeros([2]))
    np.testing.assert_allclose(w.numpy(), [2 / 3, 1 / 3], rtol=1e-6)  # z/L normalised
    w = famo_weights(tf.zeros([2]), tf.constant([1.0, 0.0]), tf.zeros([2]))
    np.testing.assert_allclose(w.numpy(), [1.0, 0.0])  # a task without labels is left out


def test_famo_logit_gradient_is_softmax_jacobian_times_loss_decrease():
    b = _built("famo", gamma=0.01)
    b.combine_losses(tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0]))  # remembers L_prev
    xi = b.trainable_variables[0]
    with tf.GradientTape() as tape:
        total = b.combine_losses(tf.constant([0.5, 2.0]), tf.constant([0.5, 2.0]))
    delta = famo_logit_signal(tf.constant([1.0, 2.0]), tf.constant([0.5, 2.0]), tf.zeros([2])).numpy()
    np.testing.assert_allclose(delta, [np.log(2.0), 0.0], rtol=1e-6)
    z = np.array([0.5, 0.5])
    jac = np.diag(z) - np.outer(z, z)
    # ξ = 0, so the weight-decay term γξ adds nothing yet.
    np.testing.assert_allclose(tape.gradient(total, xi.value).numpy(), jac.T @ delta, atol=1e-6)
    # Descending it lowers the weight of the task whose loss fell fastest.
    assert (jac.T @ delta)[0] > 0


# ----------------------------------------------------------------------- uncertainty
def test_uncertainty_moves_to_its_fixed_point():
    b = _built("uncertainty", kinds=["regression", "binary"], init=1.0)
    s = b.trainable_variables[0]
    losses = tf.constant([4.0, 0.5])
    start = s.numpy().copy()
    targets = np.array([np.log(4.0), np.log(2 * 0.5)])  # regression: log L; classification: log 2L
    for _ in range(300):
        with tf.GradientTape() as tape:
            total = b.combine_losses(losses, losses)
        s.assign_sub(0.2 * tape.gradient(total, s.value))
    assert np.all(np.abs(s.numpy() - targets) < np.abs(start - targets))
    np.testing.assert_allclose(s.numpy(), targets, atol=1e-3)
    np.testing.assert_allclose(b.task_weights().numpy(), [0.5 / 4.0, 1.0 / 1.0], rtol=1e-3)


# -------------------------------------------------------------------- learned state
@pytest.mark.parametrize(
    "name, params, kinds",
    [("uncertainty", {"init": 0.3}, ["regression", "binary"]), ("famo", {"gamma": 0.01}, None),
     ("gradnorm", {"alpha": 1.0}, None)],
)
def test_closed_form_state_gradient_is_the_surrogate_gradient(name, params, kinds):
    b = _built(name, kinds=kinds, **params)
    gram = tf.constant([[4.0, 1.0], [1.0, 1.0]])
    b.combine_losses(tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0]), gram)  # FAMO's L_prev, GradNorm's L(0)
    b.trainable_variables[0].assign([0.2, -0.4])
    losses = tf.constant([0.5, 2.5])
    expected = b.state_gradients(losses, gram)[0]
    with tf.GradientTape() as tape:
        total = b.combine_losses(losses, losses, gram)
    np.testing.assert_allclose(expected.numpy(), tape.gradient(total, b.trainable_variables[0].value).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_state_update_is_an_adam_step():
    import keras

    b = _built("uncertainty", learning_rate=0.1)
    reference = keras.Variable(np.zeros(2, np.float32))
    adam = keras.optimizers.Adam(0.1)
    for grad in ([1.0, -2.0], [0.5, 0.5], [-3.0, 1.0]):
        b.apply_state_gradients([tf.constant(grad)], learning_rate=1.0)  # its own rate wins
        adam.apply_gradients([(tf.constant(grad), reference)])
    np.testing.assert_allclose(b.log_vars.numpy(), reference.numpy(), rtol=1e-5, atol=1e-6)
    assert float(b.adam_step.numpy()) == 3.0
