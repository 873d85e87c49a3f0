"""Multi-task diagnostics: task-gradient conflict on the shared parameters and gate usage."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

#: Prefixes of the keys the diagnostics add to the Keras logs (and so to History / TensorBoard).
WEIGHT_PREFIX = "balancer/weight/"
COS_PREFIX = "grad/cos/"
CONFLICT_PREFIX = "grad/conflict_rate/"
NORM_PREFIX = "grad/norm/"
GATE_PREFIX = "gate/"


# ------------------------------------------------------------------ graph helpers
def flatten_shared(per_task: list[list], variables: list) -> tuple[tf.Tensor | None, list[int]]:
    """``([T, P], indices)``: task gradients concatenated over the variables more than one task reaches.

    ``per_task[t][i]`` is task t's gradient on ``variables[i]``, or None where the task does not
    reach it (zeros are used when another pair of tasks shares that variable).
    """
    shared = [i for i in range(len(variables)) if sum(g[i] is not None for g in per_task) > 1]
    if not shared:
        return None, []
    rows = []
    for grads in per_task:
        parts = [
            tf.reshape(tf.convert_to_tensor(grads[i]), [-1])
            if grads[i] is not None
            else tf.zeros([int(variables[i].shape.num_elements())], tf.float32)
            for i in shared
        ]
        rows.append(tf.concat(parts, 0))
    return tf.stack(rows), shared


def _history_node(tensor):
    op, node_index, _ = tensor._keras_history
    return None if op is None else op._inbound_nodes[node_index]


def shared_points(model, task_names: list[str]) -> tuple:
    """``(node, tensor)``: the last node of a layer with weights that feeds more than one of these
    tasks (its layer is the "last shared layer"), and the last tensor that feeds more than one
    (the "shared representation"); "last" = closest to the outputs. Either may be None.
    """
    outputs = model.output
    node_reach: dict[int, tuple] = {}
    tensor_reach: dict[int, tuple] = {}
    for name in task_names:
        stack, seen = [outputs[name]], set()
        while stack:
            tensor = stack.pop()
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            tensor_reach.setdefault(id(tensor), (tensor, set()))[1].add(name)
            node = _history_node(tensor)
            if node is None:
                continue
            node_reach.setdefault(id(node), (node, set()))[1].add(name)
            stack.extend(node.input_tensors)
    depth = {id(n): d for d, nodes in model._nodes_by_depth.items() for n in nodes}

    def node_depth(node):
        return depth.get(id(node), 1 << 30)

    layers = [
        n for n, tasks in node_reach.values() if len(tasks) > 1 and getattr(n.operation, "trainable_weights", None)
    ]
    tensors = [t for t, tasks in tensor_reach.values() if len(tasks) > 1 and _history_node(t) is not None]
    node = min(layers, key=node_depth) if layers else None
    tensor = min(tensors, key=lambda t: node_depth(_history_node(t))) if tensors else None
    return node, tensor


# ------------------------------------------------------------------ statistics
def norms_and_cosines(grads: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-task gradient norms ``[T]`` and pairwise cosines ``[T, T]`` of ``[T, P]`` gradients."""
    gram = tf.matmul(grads, grads, transpose_b=True)
    norms = tf.sqrt(tf.maximum(tf.linalg.diag_part(gram), 0.0))
    cos = tf.math.divide_no_nan(gram, norms[:, None] * norms[None, :])
    return norms, cos


def entropy(p: np.ndarray) -> float:
    """Shannon entropy in nats of a distribution (zeros ignored)."""
    p = np.asarray(p, np.float64)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum())


def gate_key(layer_name: str) -> str:
    """Short log name of a gate layer (``zoo__gate_ctr`` -> ``gate_ctr``)."""
    return layer_name[len("zoo__") :] if layer_name.startswith("zoo__") else layer_name


def gradient_logs(task_names: list[str], norms: np.ndarray, cosines: np.ndarray) -> dict[str, float]:
    """Log entries from per-batch ``norms [N, T]`` and ``cosines [N, T, T]`` of N measured batches."""
    logs: dict[str, float] = {}
    for t, name in enumerate(task_names):
        logs[f"{NORM_PREFIX}{name}"] = float(np.mean(norms[:, t]))
    for a in range(len(task_names)):
        for b in range(a + 1, len(task_names)):
            pair = f"{task_names[a]}/{task_names[b]}"
            logs[f"{COS_PREFIX}{pair}"] = float(np.mean(cosines[:, a, b]))
            logs[f"{CONFLICT_PREFIX}{pair}"] = float(np.mean(cosines[:, a, b] < 0.0))
    return logs


def gate_logs(usage: dict[str, np.ndarray]) -> dict[str, float]:
    """Log entries from each gate's mean expert weights ``[E]``: the usage and its entropy."""
    logs: dict[str, float] = {}
    for layer_name, weights in usage.items():
        key = f"{GATE_PREFIX}{gate_key(layer_name)}"
        weights = np.asarray(weights, np.float64)
        logs[f"{key}/entropy"] = entropy(weights)
        for e, w in enumerate(weights):
            logs[f"{key}/usage/{e}"] = float(w)
    return logs


class DiagnosticsProbe:
    """Measures gradient conflict and gate usage of a model on a few fixed batches."""

    def __init__(self, model, batches: list, gradients: bool = True, gates: bool = True):
        self.model = model
        self.batches = batches
        self.task_names = [t.name for t in model.loss_tasks]
        self.gradients = gradients and len(self.task_names) > 1
        self.gate_model = model.gate_model() if gates else None
        self._grad_fn = tf.function(self._norms_and_cosines, reduce_retracing=True)

    def _norms_and_cosines(self, x, y):
        flat = self.model.shared_task_gradients(x, y)
        if flat is None:
            n = len(self.task_names)
            return tf.zeros([n]), tf.zeros([n, n]), tf.constant(False)
        norms, cos = norms_and_cosines(flat)
        return norms, cos, tf.constant(True)

    def measure(self) -> dict[str, float]:
        """All diagnostics as flat ``{key: float}`` log entries."""
        logs: dict[str, float] = {}
        if self.gradients:
            results = [self._grad_fn(x, y) for x, y in self.batches]
            if results and bool(results[0][2]):
                norms = np.stack([r[0].numpy() for r in results])
                cos = np.stack([r[1].numpy() for r in results])
                logs.update(gradient_logs(self.task_names, norms, cos))
        if self.gate_model is not None and self.batches:
            sums: dict[str, np.ndarray] = {}
            count = 0
            for x, _ in self.batches:
                out = self.gate_model(x, training=False)
                for name, w in out.items():
                    w = np.asarray(w)
                    sums[name] = sums.get(name, 0.0) + w.sum(axis=0)
                count += int(np.asarray(next(iter(out.values()))).shape[0])
            logs.update(gate_logs({name: s / max(count, 1) for name, s in sums.items()}))
        return logs


def take_batches(data, num_batches: int, batch_size: int = 256) -> list:
    """Up to ``num_batches`` ``(features, labels)`` batches from a tf.data Dataset or an ``(x, y)`` pair."""
    if isinstance(data, tf.data.Dataset):
        return [(b[0], b[1]) for b in data.take(num_batches)]
    x, y = data
    n = len(next(iter(y.values())))
    batches = []
    for start in range(0, n, batch_size):
        if len(batches) >= num_batches:
            break
        sl = slice(start, start + batch_size)
        batches.append(({k: v[sl] for k, v in x.items()}, {k: v[sl] for k, v in y.items()}))
    return batches
