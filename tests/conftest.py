"""Suite-wide settings: tiny models run fastest (and steadiest on shared cores) single-threaded."""

import torch

torch.set_num_threads(1)
