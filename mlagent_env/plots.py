"""What every plot of the project shares so that it reads at a glance: a headless pyplot, plain
tick labels (no offset or scientific notation), integer ticks on axes that count steps or runs,
and markers when a line has few points."""

from __future__ import annotations

from typing import Any

FEW_POINTS = 12
"""Lines with at most this many points get markers (a single point is otherwise invisible)."""


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files only, no display needed)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def readable_axes(ax: Any, integer_x: bool = True) -> None:
    """Plain tick labels on both axes; integer ticks on x when it counts (steps, runs)."""
    from matplotlib.ticker import MaxNLocator, ScalarFormatter  # noqa: PLC0415

    for axis in (ax.xaxis, ax.yaxis):
        fmt = ScalarFormatter(useOffset=False)
        fmt.set_scientific(False)
        axis.set_major_formatter(fmt)
    if integer_x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def marker(points: int) -> str | None:
    """``"o"`` for a line of few points, else None."""
    return "o" if points <= FEW_POINTS else None
