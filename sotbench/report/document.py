"""A tiny document model rendered to Markdown, HTML and LaTeX with pandas.

Reports build a list of :class:`Section` objects once; :func:`to_markdown`,
:func:`to_html` and :func:`to_latex` render the same content, so the files never
disagree.  Tables are rendered by pandas (``DataFrame.to_markdown`` with the
``tabulate`` backend, ``DataFrame.to_html``, ``DataFrame.to_latex`` with
booktabs rules) rather than by hand.

HTML: one self-contained page (no CDN, nothing fetched at view time); every
table header sorts its column on click (a few lines of inline JavaScript,
numeric when both cells start with a number); inline code written as
```code``` in paragraphs becomes ``<code>``; a row may link to a file.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

__all__ = ["Table", "Image", "Section", "Details", "to_markdown", "to_html", "to_latex", "SORT_JS"]


@dataclass
class Table:
    """A table of already formatted cells.

    Attributes
    ----------
    header : list of str
    rows : list of list of str
    caption : str
    links : list of (str or None), optional
        Per row, a path (relative to the report) the row links to in HTML (a
        ``result.json``); rendered as an extra "result" column.
    published : list of bool, optional
        Per row, whether it holds published (not measured) numbers (greyed in HTML).
    latex : bool
        Include this table in the LaTeX export.
    """

    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    links: list | None = None
    published: list | None = None
    latex: bool = False

    def frame(self):
        """The table as a :class:`pandas.DataFrame` of strings."""
        import pandas as pd

        return pd.DataFrame([[str(c) for c in row] for row in self.rows], columns=list(self.header), dtype=object)


@dataclass
class Image:
    """A picture referenced by a path relative to the report."""

    path: str
    alt: str


@dataclass
class Details:
    """Blocks folded away by default (``<details>`` in HTML and Markdown)."""

    summary: str
    blocks: list = field(default_factory=list)


@dataclass
class Section:
    """A titled list of blocks: paragraphs (str), tables, images and details."""

    title: str
    blocks: list = field(default_factory=list)
    level: int = 2


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _md_table(block: Table) -> str:
    frame = block.frame().map(_md_cell)
    frame.columns = [_md_cell(h) for h in block.header]
    return frame.to_markdown(index=False, tablefmt="github", disable_numparse=True)


def _md_blocks(blocks: list) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Table):
            if block.caption:
                out += [block.caption, ""]
            out.append(_md_table(block))
        elif isinstance(block, Image):
            out.append(f"![{block.alt}]({block.path})")
        elif isinstance(block, Details):
            out += [f"<details><summary>{html.escape(block.summary)}</summary>", ""]
            out += _md_blocks(block.blocks)
            out.append("</details>")
        else:
            out.append(str(block))
        out.append("")
    return out


def to_markdown(title: str, sections: list[Section]) -> str:
    """Render sections to GitHub-flavoured Markdown."""
    out = [f"# {title}", ""]
    for section in sections:
        out += ["#" * section.level + " " + section.title, ""]
        out += _md_blocks(section.blocks)
    return "\n".join(out).rstrip() + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1300px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.88em}"
        "th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}td{white-space:nowrap}"
        "th{cursor:pointer;background:#f4f4f4}th.asc::after{content:' \\25B2'}th.desc::after{content:' \\25BC'}"
        "th:first-child,td:first-child{text-align:left}tr.published td{color:#777;font-style:italic}"
        "code{background:#f3f3f3;padding:0 3px}"
        "img{max-width:100%;border:1px solid #eee}caption{text-align:left;font-weight:600;padding:4px 0}")

#: Inline script making every ``table.sortable`` sortable by clicking a header (numeric when possible).
SORT_JS = """
function sbKey(t){var m=t.replace(/\\u2212/g,'-').match(/^\\s*[-+]?\\d+(\\.\\d+)?/);return m?parseFloat(m[0]):null;}
function sbSort(th){var table=th.closest('table'),body=table.tBodies[0],i=th.cellIndex;
 var dir=th.classList.contains('asc')?-1:1;
 table.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});
 th.classList.add(dir>0?'asc':'desc');
 var rows=Array.prototype.slice.call(body.rows);
 rows.sort(function(a,b){var x=a.cells[i].textContent,y=b.cells[i].textContent,kx=sbKey(x),ky=sbKey(y);
  if(kx===null&&ky===null)return dir*x.localeCompare(y);if(kx===null)return 1;if(ky===null)return -1;
  return dir*(kx-ky);});
 rows.forEach(function(r){body.appendChild(r);});}
document.querySelectorAll('table.sortable th').forEach(function(th){
 th.addEventListener('click',function(){sbSort(th);});});
"""

_CODE = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    """HTML-escape a paragraph and render ```code``` spans."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(str(text)))


def _html_table(block: Table) -> str:
    frame = block.frame().map(_inline)
    if block.links is not None:
        frame["result"] = [f'<a href="{html.escape(link)}">result.json</a>' if link else ""
                           for link in block.links]
    frame.columns = [html.escape(str(h)) for h in frame.columns]
    text = frame.to_html(index=False, escape=False, border=0, classes="sortable", na_rep="–")
    text = text.replace(' class="dataframe sortable"', ' class="sortable"')
    text = re.sub(r'<tr style="text-align: right;">', "<tr>", text)
    if block.published is not None:  # pandas renders one "<tr>" per body row, in order
        head, body = text.split("<tbody>", 1)
        chunks = body.split("<tr>")
        body = chunks[0] + "".join(('<tr class="published">' if i < len(block.published) and block.published[i]
                                    else "<tr>") + chunk for i, chunk in enumerate(chunks[1:]))
        text = head + "<tbody>" + body
    if block.caption:
        text = text.replace("<thead>", f"<caption>{html.escape(block.caption)}</caption>\n  <thead>", 1)
    return text


def _html_blocks(blocks: list) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Table):
            out.append(_html_table(block))
        elif isinstance(block, Image):
            out.append(f'<p><img src="{html.escape(block.path)}" alt="{html.escape(block.alt)}"></p>')
        elif isinstance(block, Details):
            out.append(f"<details><summary>{html.escape(block.summary)}</summary>")
            out += _html_blocks(block.blocks)
            out.append("</details>")
        else:
            out.append(f"<p>{_inline(block)}</p>")
    return out


def to_html(title: str, sections: list[Section]) -> str:
    """Render sections to one self-contained HTML page (images referenced relatively)."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        level = min(section.level, 6)
        out.append(f"<h{level}>{html.escape(section.title)}</h{level}>")
        out += _html_blocks(section.blocks)
    out.append(f"<script>{SORT_JS}</script>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


_TEX_SYMBOLS = {"²": r"\textsuperscript{2}", "Δ": r"$\Delta$", "↑": r"$\uparrow$", "↓": r"$\downarrow$",
                "–": "--", "−": "$-$", "×": r"$\times$", "≥": r"$\geq$", "≤": r"$\leq$"}


def _tex_escape(text: str) -> str:
    text = str(text).replace("`", "")
    for char, repl in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"),
                       ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"),
                       ("^", r"\textasciicircum{}")):
        if char in ("{", "}"):
            continue
        text = text.replace(char, repl)
    for char, repl in _TEX_SYMBOLS.items():
        text = text.replace(char, repl)
    return text


def to_latex(title: str, sections: list[Section]) -> str:
    r"""Render the tables flagged ``latex=True`` as booktabs ``table`` floats, one file.

    The output needs ``\usepackage{booktabs}`` (images are not exported).  Cells are escaped for
    LaTeX; ``dB²``, Δ and the arrows become math/text commands.
    """
    out = [f"% {title}: generated by `sotbench report`; needs \\usepackage{{booktabs}}", ""]
    for section in sections:
        tables = [b for b in section.blocks if isinstance(b, Table) and b.latex]
        for block in tables:
            frame = block.frame().map(_tex_escape)
            frame.columns = [_tex_escape(h) for h in block.header]
            body = frame.to_latex(index=False, escape=False, column_format="l" + "r" * (len(block.header) - 1))
            caption = _tex_escape(block.caption or section.title)
            label = re.sub(r"[^a-z0-9]+", "-", (block.caption or section.title).lower()).strip("-")
            out += [r"\begin{table}[t]", r"\centering", r"\footnotesize", body.rstrip(),
                    rf"\caption{{{caption}}}", rf"\label{{tab:{label}}}", r"\end{table}", ""]
    return "\n".join(out).rstrip() + "\n"
