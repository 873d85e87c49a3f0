"""The balancer interface: how per-task losses (or per-task gradients) become one update."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras.src.saving.keras_saveable import KerasSaveable

#: Adam's β1, β2 and ε for the learned state (Keras' defaults).
_ADAM = (0.9, 0.999, 1e-7)

#: Task kinds whose loss is a likelihood of a continuous value (Kendall's "regression" form).
CONTINUOUS_KINDS = ("regression", "depth", "normals")


def num_replicas() -> int:
    """Replicas in sync in the current replica context (1 outside ``tf.distribute``)."""
    ctx = tf.distribute.get_replica_context()
    return ctx.num_replicas_in_sync if ctx is not None else 1


class Balancer(tf.Module, KerasSaveable):
    """Base class. A balancer turns per-task losses, or per-task gradients, into one update.

    Three kinds, told apart by two attributes:

    * loss-based (``needs_task_gradients = False``, ``gram_target = None``): ``combine_losses``
      returns the scalar to differentiate;
    * loss-based with a Gram matrix (``gram_target = "layer"`` or ``"representation"``): the
      model also passes ``gram [T, T]``, the inner products of the task gradients on the last
      shared layer's kernel (GradNorm) or on the shared representation (MGDA-UB), all-reduced;
    * gradient-based (``needs_task_gradients = True``): ``combine_gradients`` maps the
      all-reduced ``[T, P]`` task gradients of the shared parameters to one ``[P]`` direction.

    State lives in ``keras.Variable``s created in ``build`` through ``add_state``. It is
    tracked for ``tf.train.Checkpoint`` and saved in ``.keras``/``.weights.h5`` files (via
    ``save_own_variables``), never in exported graphs. Every replica holds its own copy and
    writes it with the same value, computed from all-reduced inputs only, so state updates
    need no collective of their own.

    ``trainable_variables`` (e.g. uncertainty log-variances) are learned: ``combine_losses``
    is also a surrogate whose gradient on them is the update direction, and
    ``state_gradients`` gives that same gradient in closed form from the global losses. The
    model feeds it to ``apply_state_gradients``, a small in-graph Adam (learning rate
    ``learning_rate``, or the model optimizer's), then ``after_update`` runs. No second Keras
    optimizer: its per-step cost dwarfed these few scalars (see ``benchmarks/balancers.py``).
    """

    name = "base"
    #: True when the balancer needs one gradient per task on the shared parameters.
    needs_task_gradients = False
    #: ``None``, ``"layer"`` or ``"representation"``: where ``combine_losses`` wants a task Gram matrix.
    gram_target: str | None = None
    #: Learning rate of the optimizer for ``trainable_variables`` (None: the model's).
    learning_rate: float | None = None

    def __init__(self, **params):
        super().__init__(name=f"balancer_{self.name}")
        self.params = params
        self.task_names: list[str] = []
        self.task_kinds: list[str] = []
        self._state_names: list[str] = []
        self._trainable_names: list[str] = []

    # ----------------------------------------------------------------- state
    def build(self, task_names: list[str], static_weights: list[float], task_kinds: list[str] | None = None) -> None:
        """Create state for these tasks; ``static_weights`` are the tasks' spec weights."""
        self.task_names = list(task_names)
        self.task_kinds = list(task_kinds or ["regression"] * len(task_names))
        self.static_weights = tf.constant(static_weights, tf.float32)

    @property
    def num_tasks(self) -> int:
        """How many tasks carry a loss."""
        return len(self.task_names)

    def add_state(self, name: str, value, trainable: bool = False) -> keras.Variable:
        """A float32 state variable, identical on every replica, saved with the model."""
        var = keras.Variable(
            np.asarray(value, np.float32),
            dtype="float32",
            trainable=trainable,
            # Every replica computes the same new value from all-reduced inputs and writes its
            # own copy. ("only_first_replica" would turn each write into a cross-replica
            # merge_call with a broadcast: a synchronisation point per write, for nothing.)
            aggregation="none",
            name=f"{self.name}_{name}",
        )
        setattr(self, name, var)
        self._state_names.append(name)
        if trainable:
            self._trainable_names.append(name)
        return var

    @property
    def trainable_variables(self):
        """Variables the model trains for the balancer (e.g. uncertainty log-variances)."""
        return [getattr(self, n) for n in self._trainable_names]

    def _build_adam(self) -> None:
        """Adam moments for the trainable state (call at the end of ``build``)."""
        if self._trainable_names and "adam_step" not in self._state_names:
            for n in list(self._trainable_names):
                shape = getattr(self, n).shape
                self.add_state(f"{n}_adam_m", np.zeros(shape))
                self.add_state(f"{n}_adam_v", np.zeros(shape))
            self.add_state("adam_step", 0.0)

    def state_variables(self) -> dict:
        """All state variables by name."""
        return {n: getattr(self, n) for n in self._state_names}

    # ------------------------------------------------------------- combining
    def combine_losses(self, losses: tf.Tensor, global_losses: tf.Tensor | None = None, gram=None) -> tf.Tensor:
        """Loss-based balancers: the scalar to differentiate on this replica.

        ``losses`` are this replica's shares of the per-task losses (they sum over replicas to
        the global losses); ``global_losses`` are those sums (constants). Weights computed from
        ``global_losses`` keep replicas consistent; terms that do not scale with the batch must
        be divided by ``num_replicas()``.
        """
        raise NotImplementedError(f"balancer {self.name!r} combines gradients, not losses")

    def combine_gradients(self, grads: tf.Tensor, losses: tf.Tensor) -> tf.Tensor:
        """Gradient-based balancers: one ``[P]`` direction from ``[T, P]`` task gradients."""
        raise NotImplementedError(f"balancer {self.name!r} combines losses, not gradients")

    def state_gradients(self, global_losses: tf.Tensor, gram=None) -> list:
        """Closed-form gradients of the learned state (one per ``trainable_variables`` entry),
        from global (all-reduced) quantities only, so every replica gets the same values.

        Call before ``combine_losses`` in the same step (it may advance the state it reads).
        """
        return []

    def apply_state_gradients(self, grads: list, learning_rate) -> None:
        """One Adam step (β = 0.9, 0.999) of the learned state, then ``after_update``.

        ``learning_rate`` is used when the balancer has none of its own. TensorFlow's fused
        Adam kernel on each replica's own copy: a handful of ops, no optimizer, no collective.
        """
        if not grads:
            return
        lr = tf.cast(learning_rate if self.learning_rate is None else self.learning_rate, tf.float32)
        beta1, beta2, eps = _ADAM
        step = tf.convert_to_tensor(self.adam_step) + 1.0
        self.adam_step.assign(step)
        beta1_power, beta2_power = tf.pow(beta1, step), tf.pow(beta2, step)
        for name, grad in zip(self._trainable_names, grads, strict=True):
            var, m, v = (_handle(getattr(self, n)) for n in (name, f"{name}_adam_m", f"{name}_adam_v"))
            tf.raw_ops.ResourceApplyAdam(
                var=var, m=m, v=v, beta1_power=beta1_power, beta2_power=beta2_power, lr=lr, beta1=beta1,
                beta2=beta2, epsilon=eps, grad=tf.where(tf.math.is_finite(grad), grad, 0.0),
            )
        self.after_update()

    def after_update(self) -> None:
        """Runs in the train step after the balancer's own variables were updated."""

    def task_weights(self) -> tf.Tensor:
        """The current ``[T]`` task weights (for logging)."""
        return self.static_weights

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Hook for balancers whose weights follow per-epoch loss averages (``logs["<task>_loss"]``)."""

    def get_config(self) -> dict:
        """Name and parameters, enough to recreate this balancer."""
        return {"name": self.name, **self.params}

    # ---------------------------------------------------------- keras saving
    def _obj_type(self):
        # Keras' saver walks a saveable's attributes with a per-type skip list; a balancer has no
        # saveable children, so any accepted type works: "Loss" has the smallest list.
        return "Loss"

    def save_own_variables(self, store) -> None:
        """Write the state into a Keras weights store (``.keras`` / ``.weights.h5``)."""
        for n in self._state_names:
            store[n] = np.asarray(getattr(self, n).numpy())

    def load_own_variables(self, store) -> None:
        """Read the state back; names missing from the store keep their initial value."""
        keys = set(store.keys()) if store is not None else set()
        for n in self._state_names:
            if n in keys:
                getattr(self, n).assign(np.asarray(store[n]))


def _handle(variable):
    """The resource handle of a state variable (this replica's copy under ``tf.distribute``)."""
    return getattr(variable, "value", variable).handle


def gram_matrix(grads: tf.Tensor) -> tf.Tensor:
    """``G Gᵀ`` of ``[T, P]`` task gradients."""
    return tf.matmul(grads, grads, transpose_b=True)

