"""Device selection shared by every model."""

from __future__ import annotations

import torch


def resolve_device(device: str) -> torch.device:
    """``"auto"`` picks CUDA when present, else the CPU; anything else is passed to torch."""
    if device == "auto":
        from equirec.training.distributed import local_device

        if torch.cuda.is_available():  # in a process group, the GPU of this local rank
            return local_device() or torch.device("cuda")
        return torch.device("cpu")
    return torch.device(device)
