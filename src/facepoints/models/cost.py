"""Model cost figures: parameter count, FLOPs and CPU latency."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(module: nn.Module) -> int:
    """Number of parameter elements (trainable or not; buffers excluded)."""
    return sum(p.numel() for p in module.parameters())


def count_flops(module: nn.Module, *inputs: Any, **kwargs: Any) -> int:
    """Forward FLOPs of ``module(*inputs, **kwargs)`` as counted by torch's FlopCounterMode,
    i.e. 2 per multiply-add (matmul/conv/attention ops only; norms and activations are free)."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(*inputs, **kwargs)
    return int(counter.get_total_flops())


def cpu_ms_per_call(fn: Callable[[], Any], repeats: int = 20, warmup: int = 3) -> float:
    """Median wall time of ``fn()`` in milliseconds (``time.perf_counter``, under inference mode)."""
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            fn()
        for _ in range(max(repeats, 1)):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)
