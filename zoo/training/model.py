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
        ``run_eagerly``) go to Keras. A balancer's learned state (e.g. uncertainty
        log-variances) is updated by the balancer itself inside the train step.
        Under ``mixed_float16`` Keras wraps the optimizer in a ``LossScaleOptimizer``; the
        train step scales what it differentiates.
        """
        for key in ("loss", "loss_weights", "metrics", "weighted_metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(f"MultiTaskModel.compile: {key!r} comes from the task specs; do not pass it")
        super().compile(optimizer=optimizer, **kwargs)
        tasks = self.loss_tasks
        self.balancer = get_balancer(balancer)
        self.balancer.build([t.name for t in tasks], [t.weight for t in tasks], [t.kind for t in tasks])
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

    def _task_loss_sums(self, y, y_pred) -> tuple[list, list]:
        """This replica's per-task masked loss sums and label counts (lists of scalars)."""
        sums, counts = [], []
        for t in self.loss_tasks:
            if t.name not in y:
                raise ValueError(f"labels have no entry for task {t.name!r} (got: {', '.join(y)})")
            s, c = masked_loss_sum(t, y[t.name], y_pred[t.name])
            sums.append(s)
            counts.append(c)
        return sums, counts

    def _task_loss_list(self, y, y_pred) -> list:
        """Per-task losses as separate scalars (so each task's gradient reaches only its own
        graph), each this replica's share of the global masked mean."""
        return self._losses_and_global(y, y_pred)[0]

    def _losses_and_global(self, y, y_pred) -> tuple[list, tf.Tensor]:
        """``(local, global)``: this replica's shares of the per-task masked means (a list of
        scalars) and the global means ``[T]`` (constants), from ONE all-reduce of the loss sums
        and label counts.

        Dividing by the label count summed over replicas makes the all-reduced gradient equal
        to the single-replica gradient of the same global batch; the shares sum to the global
        means. Every train step issues this same first collective, whatever the balancer.
        """
        sums, counts = self._task_loss_sums(y, y_pred)
        n = len(sums)
        reduced = _all_reduce_sum(tf.concat([tf.stop_gradient(tf.stack(sums)), tf.stack(counts)], 0))
        global_counts = tf.maximum(reduced[n:], 1.0)
        local = [s / c for s, c in zip(sums, tf.unstack(global_counts), strict=True)]
        return local, reduced[:n] / global_counts

    def _extra_losses(self):
        """Regularisers and layer penalties (e.g. AITM's calibrator), averaged over replicas."""
        if not self.losses:
            return tf.constant(0.0)
        replicas = self.distribute_strategy.num_replicas_in_sync
        return tf.add_n([tf.cast(v, tf.float32) for v in self.losses]) / float(replicas)

    def train_step(self, data):
        """One step: per-task masked losses, the balancer's combination, one optimizer update.

        Collectives, in the same order on every replica: the loss sums and label counts; the
        Gram inputs (balancers with a ``gram_target``) or the shared task gradients (gradient
        methods); the optimizer's gradient all-reduce. Balancer state is written locally with
        values computed from those all-reduced inputs.
        """
        x, y = data[0], data[1]
        balancer = self.balancer
        variables = self.trainable_variables
        target = balancer.gram_target
        scaling = self._scales_loss()
        persistent = balancer.needs_task_gradients or target is not None
        state_grads: list = []
        with tf.GradientTape(persistent=persistent) as tape:
            if target == "representation":
                y_pred, representation = self._side.representation_model(x, training=True)
            else:
                y_pred = self(x, training=True)
            task_losses, global_losses = self._losses_and_global(y, y_pred)
            losses = tf.stack(task_losses)
            extra = self._extra_losses()
            if balancer.needs_task_gradients:
                # What is differentiated is loss-scaled (mixed_float16); combined after unscaling.
                to_diff = [self.optimizer.scale_loss(loss) for loss in task_losses] if scaling else task_losses
                extra_diff = self.optimizer.scale_loss(extra) if scaling else extra
            else:
                gram = None
                if target is not None:
                    to_diff = [self.optimizer.scale_loss(loss) for loss in task_losses] if scaling else task_losses
                    with tape.stop_recording():
                        sources = [representation] if target == "representation" else self._side.gram_variables
                        gram = self._task_gram(tape, to_diff, sources, target == "representation", scaling)
                with tape.stop_recording():
                    state_grads = balancer.state_gradients(global_losses, gram)
                total = balancer.combine_losses(losses, global_losses, gram) + extra
                if scaling:
                    total = self.optimizer.scale_loss(total)
        learning_rate = self.optimizer.learning_rate if state_grads else None
        if balancer.needs_task_gradients:
            grads = self._combined_task_gradients(tape, global_losses, to_diff, extra_diff, variables, scaling)
        else:
            grads = tape.gradient(total, variables)
            del tape
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        if state_grads:
            balancer.apply_state_gradients(state_grads, learning_rate)
        self._update_metrics(losses, extra, y, y_pred)
        return self._step_logs()

    def _scales_loss(self) -> bool:
        """True when the optimizer scales the loss (a ``LossScaleOptimizer`` under mixed_float16)."""
        optimizer = self.optimizer
        return isinstance(optimizer, keras.optimizers.LossScaleOptimizer) or bool(
            getattr(optimizer, "loss_scale_factor", None)
        )

    def _loss_scale(self) -> tf.Tensor:
        """The optimizer's current loss scale as a float32 scalar."""
        return tf.cast(self.optimizer.scale_loss(tf.constant(1.0)), tf.float32)

    def _task_gram(self, tape, task_losses, sources, per_example: bool, scaled: bool = False):
        """``gram [T, T]``: inner products of the task gradients on ``sources`` over the global
        batch, from one all-reduce.

        Gradients on weights are summed over replicas before the products; gradients on a
        per-example representation live on disjoint rows, so their products are summed instead.
        ``scaled``: the losses carry the optimizer's loss scale, removed here; a step whose
        scaled gradients overflowed gets a zero Gram matrix (the optimizer skips that step).
        """
        rows = []
        for t in range(len(self.loss_tasks)):
            grads = tape.gradient(task_losses[t], sources)
            rows.append(
                tf.concat(
                    [
                        tf.reshape(
                            tf.zeros(src.shape, tf.float32) if g is None else tf.cast(tf.convert_to_tensor(g), tf.float32),
                            [-1],
                        )
                        for g, src in zip(grads, sources, strict=True)
                    ],
                    0,
                )
            )
        flat = tf.stack(rows)
        if scaled:
            flat = flat / self._loss_scale()
        if per_example:
            gram = _all_reduce_sum(tf.matmul(flat, flat, transpose_b=True))
        else:
            flat = _all_reduce_sum(flat)
            gram = tf.matmul(flat, flat, transpose_b=True)
        if scaled:
            gram = tf.where(tf.reduce_all(tf.math.is_finite(gram)), gram, tf.zeros_like(gram))
        return gram

    def _combined_task_gradients(self, tape, global_losses, task_losses, extra, variables, scaled: bool = False):
        """Gradient-method path: per-task gradients on the shared variables are all-reduced
        across replicas, combined by the balancer, and written back; a variable reached by one
        task only gets that task's gradient.

        ``scaled``: the losses carry the optimizer's loss scale; the shared gradients are
        unscaled before the balancer sees them (its rule need not be scale-equivariant, e.g.
        Nash-MTL) and the combined direction is scaled again for the optimizer to unscale.
        """
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
            flat = _all_reduce_sum(flat)
            scale = self._loss_scale() if scaled else None
            if scaled:
                flat = flat / scale
            combined = self.balancer.combine_gradients(flat, global_losses)
            if scaled:
                combined = combined * scale
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
        return self._step_logs()

    def _step_logs(self) -> dict:
        """The step's logs: every metric's result.

        Under multi-worker training Keras reduces them with ``strategy.reduce("MEAN", v,
        axis=0)``, which fails on scalars ("Invalid reduction dimension 0 for input with 0
        dimensions", tensorflow/tensorflow#72388); shape ``[1]`` reduces to the scalar mean.
        """
        logs = {m.name: m.result() for m in self.metrics}
        if _in_multi_worker_mode(self.distribute_strategy):
            logs = {k: tf.reshape(v, [1]) for k, v in logs.items()}
        return logs

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

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Build the optimizer inside the strategy scope without touching a data batch.

        Works around keras-team/keras#20329: under a strategy, Keras' TF trainer pulls a batch
        and calls ``strategy.reduce("MEAN", batch)`` on it just to build state symbolically;
        with ``MultiWorkerMirroredStrategy`` that reduce of a nested dict batch crashes. A zoo
        model is a built functional model whose metrics are created in ``compile``, so the
        only state left to create is the optimizer's: ``_symbolic_build`` does exactly that
        when nothing else is unbuilt, and never reads the batch then.
        """
        strategy = getattr(self, "_distribute_strategy", None)
        nothing_but_optimizer = (
            self._compile_metrics is None
            and self._compile_loss is None
            and all(layer.built for layer in self._flatten_layers())
        )
        if strategy is None or not nothing_but_optimizer:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        with strategy.scope():
            self._symbolic_build(data_batch=None)

    def _trackable_children(self, save_type="checkpoint", **kwargs):
        children = super()._trackable_children(save_type, **kwargs)
        if save_type == "savedmodel":
            # Balancer state is checkpointed with the model but never exported.
            children.pop("balancer", None)
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


def _in_multi_worker_mode(strategy) -> bool:
    """True for a MultiWorkerMirroredStrategy that spans more than one worker."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def _all_reduce_sum(value):
    """Sum over replicas inside a replica context; the value itself otherwise."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return value
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, value)
