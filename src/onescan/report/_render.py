"""What every report shares: the one jinja environment, number filters, figures and their PNG bytes.

Figures are :class:`matplotlib.figure.Figure` objects made directly (never through pyplot),
so drawing a report neither changes nor needs the user's matplotlib backend (a notebook's
stays as it is) and leaves no figure open.
"""

from __future__ import annotations

import base64
import functools
import io
import math
from typing import Mapping

__all__ = ["environment", "render", "fmt", "num", "new_figure", "png", "base64_figures"]


def fmt(value, digits: int = 1, pct: bool = False) -> str:
    """Format a number for the report (``–`` for missing values).

    Parameters
    ----------
    value : float or None
    digits : int, default 1
        Decimals.
    pct : bool, default False
        Append ``%``.
    """
    if value is None:
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "–"
    s = f"{v:.{digits}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s + ("%" if pct else "")


def num(value, digits: int = 1) -> str:
    """Format a number with ``digits`` decimals as it is (``–`` for None and non-finite floats)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


@functools.lru_cache(maxsize=1)
def environment():
    """The reports' jinja2 environment: templates of ``onescan/report/templates``, autoescaped, strict."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("onescan.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["num"] = num
    return env


def render(template: str, **context) -> str:
    """Render the report template ``template`` with ``context``."""
    return environment().get_template(template).render(**context)


def new_figure(figsize: tuple[float, float]):
    """A new :class:`matplotlib.figure.Figure` of ``figsize`` inches, outside pyplot."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def png(fig) -> bytes:
    """The figure as PNG bytes (110 dpi, tight bounding box)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def base64_figures(figures: Mapping[str, bytes]) -> dict[str, str]:
    """PNG bytes → base64 text for ``data:`` URIs, same keys."""
    return {k: base64.b64encode(v).decode("ascii") for k, v in figures.items()}
