"""The balancer interface: how per-task losses (or per-task gradients) become one update."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras.src.saving.keras_saveable import KerasSaveable

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
    ``save_own_variables``), never in exported graphs. ``trainable_variables`` are trained by
    the model with a clone of its optimizer (learning rate ``learning_rate`` when set) on the
    gradient of the ``combine_losses`` result; ``after_update`` runs after that step.
    """

    name = "base"
    #: True when the balancer needs one gradient per task on the shared parameters.
    needs_task_gradients = False
    #: ``None``, ``"layer"`` or ``"representation"``: where ``combine_losses`` wants a task Gram matrix.
    gram_target: str | None = None
    #: True when ``combine_losses`` reads ``global_losses`` (all-reduced only then).
    uses_global_losses = False
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
            # Every replica computes the same new value from all-reduced inputs; trainable
            # state is written by the optimizer, which handles replicas itself.
            aggregation="none" if trainable else "only_first_replica",
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


def gram_matrix(grads: tf.Tensor) -> tf.Tensor:
    """``G Gᵀ`` of ``[T, P]`` task gradients."""
    return tf.matmul(grads, grads, transpose_b=True)

