"""Stop a run the moment a loss goes NaN or infinite, saying which task and which step."""

from __future__ import annotations

import math

import keras

from zoo.metrics import is_loss_key


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss; the message names the task and the step."""


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Checks the total and per-task losses after every logged batch and raises NonFiniteLoss.

    Raising (rather than only stopping) keeps the last good checkpoint as it is: the
    epoch-end checkpoint of a diverged epoch is never written.
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0
        self._steps_per_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self._steps_per_epoch = max(self._steps_per_epoch, batch + 1)
        bad = [k for k, v in logs.items() if is_loss_key(k) and not math.isfinite(float(v))]
        if not bad:
            return
        key = next((k for k in bad if k != "loss"), "loss")
        what = f"task {key[: -len('_loss')]!r}" if key != "loss" else "the total loss"
        step = self._epoch * self._steps_per_epoch + batch + 1
        raise NonFiniteLoss(
            f"{what} became {float(logs[key])} at epoch {self._epoch + 1}, step {batch + 1} "
            f"(global step ~{step}); the last good checkpoint is kept"
        )
