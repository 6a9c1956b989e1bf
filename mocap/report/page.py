"""Building blocks of a report page: embedded images, sections, tables, and the self-contained HTML page.

Pages have no external URLs and no JavaScript: images are ``data:`` URIs and the CSS is inline, so a
report can be mailed or opened from any folder.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass

DPI = 90
"""Resolution of the report's plots (a 11-inch wide plot is about 1000 pixels)."""
STATUS_COLOURS = {"pass": "#1e8e3e", "warn": "#e37400", "fail": "#d93025", "none": "#80868b"}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #202124;
       background: #f8f9fa; }
header { background: #202124; color: #fff; padding: 14px 24px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header .meta { font-size: 13px; color: #bdc1c6; }
nav { padding: 6px 24px; background: #e8eaed; font-size: 13px; }
nav a { margin-right: 14px; color: #1a73e8; text-decoration: none; }
main { padding: 8px 24px 40px 24px; max-width: 1280px; }
section { background: #fff; border: 1px solid #dadce0; border-radius: 6px; padding: 8px 18px 14px 18px;
          margin: 14px 0; }
h2 { font-size: 18px; margin: 8px 0; }
p.look { background: #e8f0fe; border-left: 4px solid #1a73e8; padding: 6px 10px; margin: 6px 0 10px 0;
         font-size: 14px; }
figure { display: inline-block; margin: 6px 10px 6px 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 12px; color: #5f6368; max-width: 640px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { border: 1px solid #dadce0; padding: 3px 8px; text-align: right; }
th { background: #f1f3f4; } td.name, th.name { text-align: left; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.card { border-radius: 6px; padding: 8px 12px; min-width: 150px; color: #fff; }
.card .v { font-size: 20px; font-weight: 600; } .card .l { font-size: 12px; }
.card .lim { font-size: 11px; opacity: .85; }
.pass { background: #1e8e3e; } .warn { background: #e37400; } .fail { background: #d93025; }
.none { background: #80868b; }
tr.flag td { background: #fce8e6; }
.badge { display: inline-block; color: #fff; border-radius: 4px; padding: 1px 8px; font-size: 12px; }
.note { font-size: 13px; color: #5f6368; }
"""


@dataclass(frozen=True)
class Image:
    """One picture of a report: written as ``report/<name>`` and embedded in the page.

    Attributes:
        name: file name, ending in ``.png`` or ``.gif``.
        data: the encoded file.
        caption: one line under the picture.
    """

    name: str
    data: bytes
    caption: str = ""

    @property
    def mime(self) -> str:
        return "image/gif" if self.name.endswith(".gif") else "image/png"

    def html(self) -> str:
        b64 = base64.b64encode(self.data).decode("ascii")
        cap = f"<figcaption>{esc(self.caption)}</figcaption>" if self.caption else ""
        return f'<figure><img alt="{esc(self.name)}" src="data:{self.mime};base64,{b64}">{cap}</figure>'


@dataclass(frozen=True)
class Section:
    """One section of a take's report.

    Attributes:
        anchor: HTML id (``calibration``).
        title: heading.
        look_for: what a reader should check, in a sentence or two.
        parts: HTML snippets and images, in order.
    """

    anchor: str
    title: str
    look_for: str
    parts: tuple[str | Image, ...]

    @property
    def images(self) -> list[Image]:
        return [p for p in self.parts if isinstance(p, Image)]

    def html(self) -> str:
        body = "\n".join(p.html() if isinstance(p, Image) else p for p in self.parts)
        return (f'<section id="{self.anchor}"><h2>{esc(self.title)}</h2>\n'
                f'<p class="look"><b>What to look for:</b> {esc(self.look_for)}</p>\n{body}\n</section>')


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def table(header: Sequence[str] | None, rows: Sequence[Sequence], *, flags: Sequence[bool] | None = None) -> str:
    """An HTML table (no header row when ``header`` is None); the first column is left-aligned; rows with
    ``flags[i]`` are highlighted."""
    head = "".join(f'<th class="{"name" if i == 0 else ""}">{esc(h)}</th>' for i, h in enumerate(header or ()))
    body = []
    for r, row in enumerate(rows):
        cls = ' class="flag"' if flags is not None and flags[r] else ""
        cells = "".join(f'<td class="{"name" if i == 0 else ""}">{esc(c)}</td>' for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{''.join(body)}</table>"


def paragraph(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{esc(text)}</p>'


def page(title: str, header_html: str, body_html: str, nav: Sequence[tuple[str, str]] = ()) -> str:
    """A complete HTML document with inline CSS."""
    links = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in nav)
    nav_html = f"<nav>{links}</nav>" if links else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n<header>{header_html}</header>"
            f"{nav_html}\n<main>\n{body_html}\n</main>\n</body></html>\n")


# ------------------------------------------------------------------------------------------ matplotlib


def new_figure(width: float, height: float, *, left: float = 0.8, bottom: float = 0.55, right: float = 0.25,
               top: float = 0.35, hspace: float = 0.45, wspace: float = 0.2):
    """A matplotlib ``Figure`` on its own Agg canvas (no pyplot, no global backend), ``width`` x ``height``
    inches, with fixed margins in inches (cheaper than ``tight_layout``, which draws the figure repeatedly)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        hspace=hspace, wspace=wspace)
    return fig


def figure_image(fig, name: str, caption: str = "") -> Image:
    """Render ``fig`` as a PNG :class:`Image` (drawn once, encoded by OpenCV: several times faster than
    ``savefig``'s encoder at the same size)."""
    import cv2
    import numpy as np

    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode the figure {name} as PNG")
    return Image(name, data.tobytes(), caption)
