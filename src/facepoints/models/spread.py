"""Constants of the per-point spread distributions (no PyTorch, so inference can read them)."""
from __future__ import annotations

import math

#: variance of each distribution at unit spread: sigma^2 (Gaussian), 2 b^2 (Laplace scale b)
UNIT_SPREAD_VARIANCE = {"gaussian": 1.0, "laplace": 2.0}
#: expected distance of a 2D point whose axes are independent with unit spread: sqrt(pi / 2)
#: (Gaussian), 1 + ln(1 + sqrt 2) / sqrt 2 (Laplace); a calibrated sigma predicts error = this x sigma
MEAN_RADIUS_PER_SPREAD = {"gaussian": math.sqrt(math.pi / 2), "laplace": 1 + math.log(1 + math.sqrt(2)) / math.sqrt(2)}
