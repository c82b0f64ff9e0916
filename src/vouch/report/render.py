"""The evidence page as one self-contained HTML file (Jinja2, autoescaped), and as JSON.

Every string on the page may come from an archive, a statement or an index, so the environment
escapes everything (``autoescape=True``, never ``|safe``) and refers to nothing outside the file:
inline CSS, inline SVG, no script, no font, no image from anywhere, and a Content-Security-Policy
that forbids them all, so that a page opened from disk makes no request and runs no code.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from vouch import __version__
from vouch.report.model import Page, Status

_ENVIRONMENT = Environment(
    loader=PackageLoader("vouch.report", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)

BAR_WIDTH = 240


def quorum_bars(page: Page) -> list[dict[str, Any]]:
    """One bar per artifact: vouched signers out of the threshold (the SVG figure's data)."""
    quorum = page.quorum
    bars = []
    for artifact in quorum.artifacts:
        slots = max(quorum.threshold, len(artifact.vouched_by), 1)
        width = BAR_WIDTH // slots
        bars.append({
            "filename": artifact.filename,
            "passed": artifact.passed,
            "cells": [{"x": i * width, "width": width - 2, "filled": i < len(artifact.vouched_by),
                       "label": artifact.vouched_by[i] if i < len(artifact.vouched_by) else "missing"}
                      for i in range(slots)],
        })  # fmt: skip
    return bars


def render_page(template: str, **values: Any) -> str:
    """One of vouch's pages (``templates/NAME``: the frame, ``base.html.j2``, is shared), autoescaped."""
    return _ENVIRONMENT.get_template(template).render(version=__version__, **values)


def render_html(page: Page) -> str:
    bars = quorum_bars(page)
    return render_page("report.html.j2", page=page, Status=Status, bars=bars, bar_width=BAR_WIDTH)


def render_json(page: Page) -> str:
    return json.dumps(page.to_json(), indent=2)
