"""MultiTaskModel: the functional Keras model every zoo builder returns, with a multi-task train step."""

from __future__ import annotations

import keras
import tensorflow as tf

from zoo.layers._register import register
from zoo.metrics import task_metrics
from zoo.specs import parse_features, parse_tasks
from zoo.training.balancers import Balancer, get_balancer
from zoo.training.diagnostics import flatten_shared, shared_points
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
        self.balancer_optimizer: keras.optimizers.Optimizer | None = None
        self._side = _Untracked()

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
        ``run_eagerly``) go to Keras. A balancer with trainable state gets
        ``self.balancer_optimizer``, a clone of the optimizer (its own learning rate if set).
        """
        for key in ("loss", "loss_weights", "metrics", "weighted_metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(f"MultiTaskModel.compile: {key!r} comes from the task specs; do not pass it")
        super().compile(optimizer=optimizer, **kwargs)
        tasks = self.loss_tasks
        self.balancer = get_balancer(balancer)
        self.balancer.build([t.name for t in tasks], [t.weight for t in tasks], [t.kind for t in tasks])
        self.balancer_optimizer = None
        if self.balancer.trainable_variables:
            self.balancer_optimizer = _clone_optimizer(self.optimizer, self.balancer.learning_rate)
            self.balancer_optimizer.build(self.balancer.trainable_variables)
        self._side = _Untracked()
        if self.balancer.gram_target is not None:
            self._prepare_gram_target(self.balancer.gram_target)
        self._loss_trackers = [keras.metrics.Mean(name="loss")] + [
            keras.metrics.Mean(name=f"{t.name}_loss") for t in tasks
        ]
        self._task_metrics = [m for t in self.task_specs for m in task_metrics(t)]

    @property
    def loss_tasks(self):
        """Tasks that carry a loss (weight > 0); the others are only measured."""
        return [t for t in self.task_specs if t.weight > 0]

    @property
    def metrics(self):
        return list(getattr(self, "_loss_trackers", [])) + list(getattr(self, "_task_metrics", []))

    # ---------------------------------------------------------- shared parts
    def last_shared_layer(self):
        """The layer with weights closest to the outputs that feeds more than one loss task, or None."""
        node, _ = shared_points(self, [t.name for t in self.loss_tasks])
        return None if node is None else node.operation

    def shared_representation(self):
        """The tensor closest to the outputs that feeds more than one loss task (MGDA-UB's Z), or None."""
        return shared_points(self, [t.name for t in self.loss_tasks])[1]

    def _prepare_gram_target(self, target: str) -> None:
        if target == "layer":
            layer = self.last_shared_layer()
            if layer is None:
                raise ValueError(
                    f"balancer {self.balancer.name!r} needs a layer with weights shared by the tasks; "
                    f"model {self.architecture!r} has none"
                )
            kernels = [v for v in layer.trainable_weights if len(v.shape) >= 2] or list(layer.trainable_weights)
            self._side.gram_variables = [kernels[-1]]
        elif target == "representation":
            tensor = self.shared_representation()
            if tensor is None:
                raise ValueError(
                    f"balancer {self.balancer.name!r} needs a representation shared by the tasks; "
                    f"model {self.architecture!r} has none"
                )
            self._side.representation_model = keras.Model(
                self.inputs, [self.output, tensor], name=f"{self.name}_with_representation"
            )
        else:
            raise ValueError(f"unknown gram_target {target!r} (valid: layer, representation)")

    # ------------------------------------------------------------------ steps
    def _task_losses(self, y, y_pred):
        """Per-task losses ``[T]``, each this replica's share of the global masked mean."""
        return tf.stack(self._task_loss_list(y, y_pred))

    def _task_loss_list(self, y, y_pred) -> list:
        """Per-task losses as separate scalars (so each task's gradient reaches only its own
        graph), each this replica's share of the global masked mean.

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
        counts = tf.unstack(tf.maximum(_all_reduce_sum(tf.stack(counts)), 1.0))
        return [s / c for s, c in zip(sums, counts, strict=False)]

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
        balancer_vars = list(balancer.trainable_variables)
        target = balancer.gram_target
        persistent = balancer.needs_task_gradients or target is not None
        with tf.GradientTape(persistent=persistent) as tape:
            if target == "representation":
                y_pred, representation = self._side.representation_model(x, training=True)
            else:
                y_pred = self(x, training=True)
            task_losses = self._task_loss_list(y, y_pred)
            losses = tf.stack(task_losses)
            extra = self._extra_losses()
            if not balancer.needs_task_gradients:
                gram = None
                if target is None:
                    # Only all-reduced when read: an unused collective could run out of order.
                    global_losses = _all_reduce_sum(tf.stop_gradient(losses)) if balancer.uses_global_losses else None
                else:
                    with tape.stop_recording():
                        sources = [representation] if target == "representation" else self._side.gram_variables
                        # One all-reduce for the losses and the Gram inputs keeps every replica's
                        # collectives in the same order.
                        global_losses, gram = self._task_gram(
                            tape, task_losses, tf.stop_gradient(losses), sources, target == "representation"
                        )
                total = balancer.combine_losses(losses, global_losses, gram) + extra
        if balancer.needs_task_gradients:
            grads = self._combined_task_gradients(tape, losses, task_losses, extra, variables)
            balancer_grads = []
        else:
            all_grads = tape.gradient(total, variables + balancer_vars)
            del tape
            if _num_replicas() > 1 and (global_losses is not None or gram is not None):
                # Collectives must run in the same order on every replica: finish the balancer's
                # all-reduces before the optimizer all-reduces the gradients.
                deps = [t for t in (global_losses, gram) if t is not None]
                with tf.control_dependencies(deps):
                    all_grads = [None if g is None else tf.identity(g) for g in all_grads]
            grads, balancer_grads = all_grads[: len(variables)], all_grads[len(variables) :]
        self.optimizer.apply_gradients(zip(grads, variables, strict=False))
        if balancer_vars:
            balancer_grads = [tf.zeros_like(v) if g is None else g for g, v in zip(balancer_grads, balancer_vars, strict=False)]
            self.balancer_optimizer.apply_gradients(zip(balancer_grads, balancer_vars, strict=False))
            balancer.after_update()
        self._update_metrics(losses, extra, y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def _task_gram(self, tape, task_losses, losses, sources, per_example: bool):
        """``(global losses [T], gram [T, T])``: the losses and the inner products of the task
        gradients on ``sources``, both over the global batch, from one all-reduce.

        Gradients on weights are summed over replicas before the products; gradients on a
        per-example representation live on disjoint rows, so their products are summed instead.
        """
        rows = []
        for t in range(len(self.loss_tasks)):
            grads = tape.gradient(task_losses[t], sources)
            rows.append(
                tf.concat(
                    [
                        tf.reshape(tf.zeros(src.shape, tf.float32) if g is None else tf.convert_to_tensor(g), [-1])
                        for g, src in zip(grads, sources, strict=False)
                    ],
                    0,
                )
            )
        flat = tf.stack(rows)
        if per_example:
            global_losses, gram = _all_reduce_sum([losses, tf.matmul(flat, flat, transpose_b=True)])
            return global_losses, gram
        global_losses, flat = _all_reduce_sum([losses, flat])
        return global_losses, tf.matmul(flat, flat, transpose_b=True)

    def _combined_task_gradients(self, tape, losses, task_losses, extra, variables):
        """Gradient-method path: per-task gradients on the shared variables are all-reduced
        across replicas, combined by the balancer, and written back; a variable reached by one
        task only gets that task's gradient."""
        n_tasks = len(self.loss_tasks)
        per_task = [
            tape.gradient(task_losses[t], variables, unconnected_gradients=tf.UnconnectedGradients.NONE)
            for t in range(n_tasks)
        ]
        extra_grads = tape.gradient(extra, variables) if self.losses else [None] * len(variables)
        del tape
        flat, shared = flatten_shared(per_task, variables)
        grads: list = [None] * len(variables)
        if shared:
            replicas = _num_replicas()
            global_losses = losses
            if replicas > 1:
                ctx = tf.distribute.get_replica_context()
                flat, global_losses = ctx.all_reduce(tf.distribute.ReduceOp.SUM, [flat, global_losses])
            combined = self.balancer.combine_gradients(flat, global_losses)
            # The optimizer sums gradients over replicas again; every replica now holds the same
            # combined direction, so hand each 1/replicas of it.
            combined = combined / float(replicas)
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
        for tracker, value in zip(self._loss_trackers[1:], tf.unstack(shares), strict=False):
            tracker.update_state(value)
        for metric in self._task_metrics:
            name = metric.task.name
            if name in y:
                metric.update_state(y[name], y_pred[name])

    def fit(self, *args, **kwargs):
        """Keras ``fit``; adds the balancer's epoch hook and runs the zoo callbacks first, so
        the values they add to ``logs`` reach History, TensorBoard and CSV loggers."""
        from zoo.training.callbacks import with_zoo_callbacks

        if len(args) <= 5:
            kwargs["callbacks"] = with_zoo_callbacks(kwargs.get("callbacks"))
        return super().fit(*args, **kwargs)

    def _trackable_children(self, save_type="checkpoint", **kwargs):
        children = super()._trackable_children(save_type, **kwargs)
        if save_type == "savedmodel":
            # Balancer state is checkpointed with the model but never exported.
            for key in ("balancer", "balancer_optimizer"):
                children.pop(key, None)
        return children

    # ------------------------------------------------------------ diagnostics
    def shared_task_gradients(self, x, y, training: bool = False):
        """Per-task gradients ``[T, P]`` of the masked losses on the shared variables (None if none)."""
        variables = self.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            losses = self._task_loss_list(y, self(x, training=training))
        per_task = [
            tape.gradient(losses[t], variables, unconnected_gradients=tf.UnconnectedGradients.NONE)
            for t in range(len(self.loss_tasks))
        ]
        del tape
        return flatten_shared(per_task, variables)[0]

    def gate_model(self) -> keras.Model | None:
        """A side model sharing this model's layers that returns each gate's ``[B, E]`` expert weights.

        ``gate_layers`` entries are a gate layer's name, or ``"<layer>:<i>"`` for gate i of a
        fused mixture layer whose last output holds all its gates ``[B, G, E]``. Output keys
        replace ``:`` by ``_``.
        """
        if not self.gate_layers:
            return None
        outputs = {}
        for spec in self.gate_layers:
            name, _, index = spec.partition(":")
            out = self.get_layer(name).output
            if index:
                out = out[-1][:, int(index), :]
            outputs[spec.replace(":", "_")] = out
        return keras.Model(self.input, outputs, name=f"{self.name}_gates")


class _Untracked:
    """A plain holder for side models and variable lists that must not be tracked as model state."""


def _num_replicas() -> int:
    ctx = tf.distribute.get_replica_context()
    return ctx.num_replicas_in_sync if ctx is not None else 1


def _all_reduce_sum(value):
    """Sum over replicas inside a replica context; the value itself otherwise."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return value
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, value)


def _clone_optimizer(optimizer, learning_rate: float | None):
    """A fresh optimizer of the same class and settings, without weight decay or clipping."""
    config = dict(optimizer.get_config())
    for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
        if key in config:
            config[key] = None
    config["use_ema"] = False
    config.pop("loss_scale_factor", None)
    config.pop("gradient_accumulation_steps", None)
    config["name"] = "balancer_optimizer"
    if learning_rate is not None:
        config["learning_rate"] = float(learning_rate)
    return type(optimizer).from_config(config)
