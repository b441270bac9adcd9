"""Bar charts as plain SVG geometry, computed here and drawn by the templates: no JavaScript
chart library and nothing fetched from elsewhere."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    # Where the value's text goes (above a column, after a horizontal bar).
    text_x: float
    text_y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    top: int  # the largest value (the scale)


def columns(values: list[tuple[str, int]], *, width: int = 700, height: int = 220) -> Chart:
    """Vertical columns, one per value, scaled to the largest; room below for labels."""
    top = max((v for _, v in values), default=0)
    plot = height - 40  # labels underneath, the value above each column
    step = width / max(len(values), 1)
    bars = []
    for index, (label, value) in enumerate(values):
        h = round(plot * value / top, 1) if top else 0.0
        x = round(index * step + step * 0.15, 1)
        y = round(20 + plot - h, 1)
        bars.append(
            Bar(label, value, x, y, round(step * 0.7, 1), h, round(x + step * 0.35, 1), y - 4)
        )
    return Chart(width, height, bars, top)


def rows(
    values: list[tuple[str, int]], *, width: int = 460, row: int = 28, label: int = 150
) -> Chart:
    """Horizontal bars, one row per value, labels on the left and the value after the bar."""
    top = max((v for _, v in values), default=0)
    plot = width - label - 80
    bars = []
    for index, (name, value) in enumerate(values):
        w = round(plot * value / top, 1) if top else 0.0
        y = index * row + 4
        bars.append(Bar(name, value, label, y, w, row - 8, label + w + 6, y + row - 12))
    return Chart(width, max(len(values), 1) * row + 8, bars, top)
