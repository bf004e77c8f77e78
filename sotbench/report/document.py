"""A tiny document model rendered both to Markdown and to self-contained-ish HTML.

Reports build a list of :class:`Section` objects once; :func:`to_markdown`
and :func:`to_html` render the same content, so the two files never disagree.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

__all__ = ["Table", "Image", "Section", "to_markdown", "to_html"]


@dataclass
class Table:
    """A table of already formatted cells."""

    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Image:
    """A picture referenced by a path relative to the report."""

    path: str
    alt: str


@dataclass
class Section:
    """A titled list of blocks: paragraphs (str), tables and images."""

    title: str
    blocks: list = field(default_factory=list)
    level: int = 2


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def to_markdown(title: str, sections: list[Section]) -> str:
    """Render sections to GitHub-flavoured Markdown."""
    out = [f"# {title}", ""]
    for section in sections:
        out += ["#" * section.level + " " + section.title, ""]
        for block in section.blocks:
            if isinstance(block, Table):
                if block.caption:
                    out += [block.caption, ""]
                out.append("| " + " | ".join(_md_cell(h) for h in block.header) + " |")
                out.append("|" + "|".join("---" for _ in block.header) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            elif isinstance(block, Image):
                out.append(f"![{block.alt}]({block.path})")
            else:
                out.append(str(block))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
        "th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}"
        "th:first-child,td:first-child{text-align:left}tr.published td{color:#777;font-style:italic}"
        "img{max-width:100%;border:1px solid #eee}caption{text-align:left;font-weight:600;padding:4px 0}")


def to_html(title: str, sections: list[Section]) -> str:
    """Render sections to one HTML page (images referenced relatively). Published rows are greyed."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        level = min(section.level, 6)
        out.append(f"<h{level}>{html.escape(section.title)}</h{level}>")
        for block in section.blocks:
            if isinstance(block, Table):
                out.append("<table>")
                if block.caption:
                    out.append(f"<caption>{html.escape(block.caption)}</caption>")
                out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in block.header) + "</tr>")
                for row in block.rows:
                    cls = ' class="published"' if any("published" in str(c) for c in row[:3]) else ""
                    out.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
                out.append("</table>")
            elif isinstance(block, Image):
                out.append(f'<p><img src="{html.escape(block.path)}" alt="{html.escape(block.alt)}"></p>')
            else:
                out.append(f"<p>{html.escape(str(block))}</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
