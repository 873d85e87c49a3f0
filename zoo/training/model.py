"""MultiTaskModel: the functional Keras model every zoo builder returns, with a multi-task train step."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.layers._register import register
from zoo.metrics import task_metrics
from zoo.specs import parse_features, parse_tasks
from zoo.training.balancers import Balancer, get_balancer
from zoo.training.losses import masked_loss_sum

_ZOO_KEYS = ("feature_specs", "task_specs", "architecture", "hparams", "gate_layers")


@register
class MultiTaskModel(keras.Model):
    """A functional model with dict inputs (by feature) and dict outputs (by task).

    ``compile(optimizer, balancer=...)`` then ``fit`` trains every task with masked losses
    (missing labels are NaN, or -1 for class tasks) combined by the chosen balancer.
    The specs and hyperparameters travel with the model through ``.keras`` files.
    """

    def __init__(self, *args, **kwargs):
        zoo = {k: kwargs.pop(k, None) for k in _ZOO_KEYS}
        super().__init__(*args, **kwargs)
        self.feature_specs = tuple(parse_features(zoo["feature_specs"] or []))
        self.task_specs = tuple(parse_tasks(zoo["task_specs"] or []))
        self.architecture = zoo["architecture"] or "custom"
        self.hparams = dict(zoo["hparams"] or {})
        self.gate_layers = tuple(zoo["gate_layers"] or ())
        self.balancer: Balancer | None = None

    # ----------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            feature_specs=[f.to_dict() for f in self.feature_specs],
            task_specs=[t.to_dict() for t in self.task_specs],
            architecture=self.architecture,
            hparams=self.hparams,
            gate_layers=list(self.gate_layers),
        )
        return config

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or self.balancer is None:
            return None
        return {
            "optimizer": keras.optimizers.serialize(self.optimizer),
            "balancer": self.balancer.get_config(),
        }

    def compile_from_config(self, config):
        self.compile(optimizer=keras.optimizers.deserialize(config["optimizer"]), balancer=config["balancer"])
        if self.built:
            self.optimizer.build(self.trainable_variables)

    # ---------------------------------------------------------------- compile
    def compile(self, optimizer="adam", balancer="static", **kwargs):
        """Keras ``compile`` without ``loss``: the task specs define the losses.

        ``balancer`` is a name (``static``, ...), a ``{"name": ..., **params}`` dict or a
        Balancer. Other keyword arguments (``jit_compile``, ``steps_per_execution``,
        ``run_eagerly``) go to Keras.
        """
        for key in ("loss", "loss_weights", "metrics", "weighted_metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(f"MultiTaskModel.compile: {key!r} comes from the task specs; do not pass it")
        super().compile(optimizer=optimizer, **kwargs)
        self.balancer = get_balancer(balancer)
        self.balancer.build([t.name for t in self.loss_tasks], [t.weight for t in self.loss_tasks])
        self._loss_trackers = [keras.metrics.Mean(name="loss")] + [
            keras.metrics.Mean(name=f"{t.name}_loss") for t in self.loss_tasks
        ]
        self._task_metrics = [m for t in self.task_specs for m in task_metrics(t)]

    @property
    def loss_tasks(self):
        """Tasks that carry a loss (weight > 0); the others are only measured."""
        return [t for t in self.task_specs if t.weight > 0]

    @property
    def metrics(self):
        return list(getattr(self, "_loss_trackers", [])) + list(getattr(self, "_task_metrics", []))

    # ------------------------------------------------------------------ steps
    def _task_losses(self, y, y_pred):
        """Per-task losses ``[T]``, each this replica's share of the global masked mean.

        Dividing by the label count summed over replicas makes the all-reduced gradient equal
        to the single-replica gradient of the same global batch.
        """
        sums, counts = [], []
        for t in self.loss_tasks:
            if t.name not in y:
                raise ValueError(f"labels have no entry for task {t.name!r} (got: {', '.join(y)})")
            s, c = masked_loss_sum(t, y[t.name], y_pred[t.name])
            sums.append(s)
            counts.append(c)
        counts = tf.stack(counts)
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            counts = ctx.all_reduce(tf.distribute.ReduceOp.SUM, counts)
        return tf.stack(sums) / tf.maximum(counts, 1.0)

    def _extra_losses(self):
        """Regularisers and layer penalties (e.g. AITM's calibrator), averaged over replicas."""
        if not self.losses:
            return tf.constant(0.0)
        replicas = self.distribute_strategy.num_replicas_in_sync
        return tf.add_n([tf.cast(v, tf.float32) for v in self.losses]) / float(replicas)

    def train_step(self, data):
        x, y = data[0], data[1]
        balancer = self.balancer
        variables = self.trainable_variables
        with tf.GradientTape(persistent=balancer.needs_task_gradients) as tape:
            y_pred = self(x, training=True)
            losses = self._task_losses(y, y_pred)
            extra = self._extra_losses()
            total = None if balancer.needs_task_gradients else balancer.combine_losses(losses) + extra
        if total is None:
            grads = self._combined_task_gradients(tape, losses, extra, variables)
        else:
            grads = tape.gradient(total, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        self._update_metrics(losses, extra, y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def _combined_task_gradients(self, tape, losses, extra, variables):
        """Gradient-method path: per-task gradients on the shared variables are all-reduced
        across replicas, combined by the balancer, and written back; a variable reached by one
        task only gets that task's gradient."""
        n_tasks = len(self.loss_tasks)
        per_task = [
            tape.gradient(losses[t], variables, unconnected_gradients=tf.UnconnectedGradients.NONE)
            for t in range(n_tasks)
        ]
        extra_grads = tape.gradient(extra, variables) if self.losses else [None] * len(variables)
        del tape
        shared = [i for i in range(len(variables)) if sum(g[i] is not None for g in per_task) > 1]
        flat = tf.stack(
            [
                tf.concat([tf.reshape(tf.convert_to_tensor(per_task[t][i]), [-1]) for i in shared], 0)
                for t in range(n_tasks)
            ]
        )
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        global_losses = losses
        if replicas > 1:
            flat, global_losses = ctx.all_reduce(tf.distribute.ReduceOp.SUM, [flat, global_losses])
        combined = self.balancer.combine_gradients(flat, global_losses)
        # The optimizer sums gradients over replicas again; every replica now holds the same
        # combined direction, so hand each 1/replicas of it.
        combined = combined / float(replicas)
        grads: list = [None] * len(variables)
        offset = 0
        for i in shared:
            size = int(variables[i].shape.num_elements())
            grads[i] = tf.reshape(combined[offset : offset + size], variables[i].shape)
            offset += size
        for i in range(len(variables)):
            if grads[i] is None:
                own = [g[i] for g in per_task if g[i] is not None]
                grads[i] = tf.convert_to_tensor(own[0]) if own else None
            if extra_grads[i] is not None:
                extra_grad = tf.convert_to_tensor(extra_grads[i])
                grads[i] = extra_grad if grads[i] is None else grads[i] + extra_grad
            if grads[i] is None:
                grads[i] = tf.zeros_like(variables[i])
        return grads

    def test_step(self, data):
        x, y = data[0], data[1]
        y_pred = self(x, training=False)
        losses = self._task_losses(y, y_pred)
        self._update_metrics(losses, tf.constant(0.0), y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def _update_metrics(self, losses, extra, y, y_pred):
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        # Losses are per-replica shares of the global mean: scale back for the (replica-averaged) trackers.
        shares = losses * float(replicas)
        total = tf.reduce_sum(self.balancer.task_weights() * shares) + extra * float(replicas)
        self._loss_trackers[0].update_state(total)
        for tracker, value in zip(self._loss_trackers[1:], tf.unstack(shares)):
            tracker.update_state(value)
        for metric in self._task_metrics:
            name = metric.task.name
            if name in y:
                metric.update_state(y[name], y_pred[name])

    # ------------------------------------------------------------ diagnostics
    def gate_model(self) -> keras.Model | None:
        """A side model sharing this model's layers that returns each gate's expert weights."""
        if not self.gate_layers:
            return None
        outputs = {name: self.get_layer(name).output for name in self.gate_layers}
        return keras.Model(self.input, outputs, name=f"{self.name}_gates")
