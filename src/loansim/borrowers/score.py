"""Credit score on a 300-850 points scale (the FICO range), moved by payment history.

On each scheduled due date:

- paid in full: ``+ on_time_points × headroom``, plus
  ``utilisation_points × (utilisation before − after) × headroom``, where utilisation is
  outstanding principal / principal lent and ``headroom = (850 − score) / 550``;
- missed: ``− miss_points × instalments behind × footroom``, with
  ``footroom = (score − 300) / 550``; nothing for utilisation.

On default: ``− default_points × footroom``. The headroom and footroom factors slow the
score near the ends of the scale, and it is clipped to [300, 850] (large point settings
could otherwise overshoot); an on-time payment never lowers it and a miss never raises it.
"""

from __future__ import annotations

import numpy as np

LOW, HIGH = np.float32(300.0), np.float32(850.0)
SPAN = HIGH - LOW


def on_time(score: np.ndarray, points: float, utilisation_drop: np.ndarray | np.float32, utilisation_points: float) -> np.ndarray:
    """Score after a payment in full (never lower than before, never above 850)."""
    headroom = (HIGH - score) / SPAN
    gain = np.float32(points) + np.float32(utilisation_points) * np.maximum(utilisation_drop, np.float32(0))
    return np.minimum(score + gain * headroom, HIGH)


def missed(score: np.ndarray, points: float, instalments_behind: np.ndarray) -> np.ndarray:
    """Score after a missed due date (never higher than before, never below 300)."""
    return np.maximum(score - points * np.maximum(instalments_behind, 1) * (score - LOW) / SPAN, LOW)


def defaulted(score: np.ndarray, points: float) -> np.ndarray:
    """Score after reaching default (never below 300)."""
    return np.maximum(score - points * (score - LOW) / SPAN, LOW)
