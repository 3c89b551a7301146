"""Training neural recommenders: the generic :class:`Trainer`, catalogue losses and devices."""

from equirec.training.device import resolve_device
from equirec.training.trainer import LossTermsMixin, Trainer, TrainingLog, TrainingTask

__all__ = ["LossTermsMixin", "Trainer", "TrainingLog", "TrainingTask", "resolve_device"]
