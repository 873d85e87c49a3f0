"""Resumable training: a checkpoint of model, optimizer and balancer state that ``fit`` restarts from."""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf


class ResumeCheckpoint(keras.callbacks.Callback):
    """Saves model + optimizer + balancer state every epoch (and every ``save_every_steps``
    steps when set) and, at the start of ``fit``, restores the newest one and skips the epochs
    it already finished.

    A run killed mid-epoch restarts that epoch from the last epoch-end checkpoint, so the
    total step count equals an uninterrupted run's. Under multi-worker training every worker
    must save (collective ops): workers other than the chief save into their own scratch
    ``directory`` and restore from the chief's (``restore_from``).
    """

    def __init__(self, directory: str, save_every_steps: int | None = None, is_chief: bool = True,
                 max_to_keep: int = 2, restore_from: str | None = None):
        super().__init__()
        self.directory = directory
        self.restore_from = restore_from or directory
        self.save_every_steps = save_every_steps
        self.is_chief = is_chief
        self.max_to_keep = max_to_keep
        self._manager = None
        self._epoch = None
        self._step_in_epoch = 0

    @staticmethod
    def epochs_done(directory: str) -> int:
        """Epochs finished by the run whose checkpoints live in ``directory`` (0 when none)."""
        try:
            with open(os.path.join(directory, "state.json")) as f:
                return int(json.load(f)["epochs_done"])
        except (OSError, ValueError, KeyError):
            return 0

    def _ensure(self):
        if self._manager is None:
            model = self.model
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
            parts = {"model": model, "optimizer": model.optimizer, "epoch": self._epoch}
            balancer = getattr(model, "balancer", None)
            if balancer is not None:
                parts["balancer"] = balancer
            self._checkpoint = tf.train.Checkpoint(**parts)
            self._manager = tf.train.CheckpointManager(self._checkpoint, self.directory, self.max_to_keep)
        return self._manager

    def on_train_begin(self, logs=None):
        self._ensure()
        latest = tf.train.latest_checkpoint(self.restore_from)
        if latest:
            try:
                self._checkpoint.restore(latest).expect_partial()
            except (ValueError, tf.errors.OpError) as e:
                raise ValueError(
                    f"{self.restore_from}: its checkpoint does not fit this model "
                    f"({str(e).splitlines()[0][:160]}); use another --output or --set train.resume=false"
                ) from None
            self.model._initial_epoch = int(self._epoch.numpy())
            self.restored_epoch = int(self._epoch.numpy())
        else:
            self.restored_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._step_in_epoch = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step_in_epoch = batch + 1
        if self.save_every_steps and (batch + 1) % self.save_every_steps == 0:
            # Mid-epoch snapshots keep the epoch counter at the last finished epoch.
            self._manager.save()

    def on_epoch_end(self, epoch, logs=None):
        self._epoch.assign(epoch + 1)
        self._manager.save()
        self._write_state({"epochs_done": epoch + 1})

    def _write_state(self, state: dict) -> None:
        if self.is_chief:
            path = os.path.join(self.directory, "state.json")
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(state, f)
            os.replace(tmp, path)
