"""Text from data, made harmless where people read it: in a web page, in Markdown, in a spreadsheet.

Names, ethnicities, identifiers and any free text come from files the package does not control.
Every place where such text meets HTML or Markdown goes through :func:`escape_html` or
:func:`escape_markdown`; every CSV or workbook written for people goes through
:func:`neutralise_formulas`, so that a cell such as ``=HYPERLINK(...)`` is shown as text and never
evaluated by a spreadsheet program.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "escape_html", "escape_markdown", "neutralise_formula", "neutralise_formulas"]

#: First characters that make a spreadsheet program read a cell as a formula (OWASP's list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")

#: Characters Markdown gives a meaning to anywhere in a line; escaped with a backslash.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
#: What starts a heading, a list or a quote when it opens a line: escaped at the start of the text.
_MARKDOWN_LEADING = re.compile(r"^(\s*)([#+\-=]|\d+(?=[.)]))")


def escape_html(value: Any) -> str:
    """The text of ``value`` with ``& < > " '`` escaped, for HTML text or an attribute.

    Examples
    --------
    >>> escape_html('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> escape_html("Tày")
    'Tày'
    """
    return html.escape("" if value is None else str(value), quote=True)


def _escape_leading(match: re.Match) -> str:
    space, mark = match.group(1), match.group(2)
    return space + (mark + "\\" if mark[0].isdigit() else "\\" + mark)  # "1\." or "\#"


def escape_markdown(value: Any) -> str:
    """The text of ``value`` made literal inside Markdown: no HTML, no emphasis, no link.

    HTML-significant characters become entities (Markdown keeps entities as text) and Markdown's
    own marks are escaped with a backslash.  Line breaks become spaces, so a value cannot start a
    heading or a list.

    Examples
    --------
    >>> escape_markdown("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> escape_markdown("[x](javascript:alert(1))")
    '\\\\[x\\\\](javascript:alert(1))'
    >>> escape_markdown("Province: -1.5 points"), escape_markdown("- 1. item"), escape_markdown("2. item")
    ('Province: -1.5 points', '\\\\- 1. item', '2\\\\. item')
    >>> escape_markdown("Nùng")
    'Nùng'
    """
    text = " ".join(("" if value is None else str(value)).split())
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = _MARKDOWN_LEADING.sub(_escape_leading, text, count=1)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def neutralise_formula(value: Any) -> Any:
    """``value`` with a leading apostrophe if a spreadsheet would read it as a formula; else unchanged.

    Only text is changed; numbers stay numbers (a negative number is not a formula).

    Examples
    --------
    >>> neutralise_formula('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutralise_formula("-1+1"), neutralise_formula(-3), neutralise_formula("HN001")
    ("'-1+1", -3, 'HN001')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) cannot be read as formulas.

    Examples
    --------
    >>> out = neutralise_formulas(pd.DataFrame({"id": ["=1+1", "HN2"], "n": [-1, 2]}))
    >>> out["id"].tolist(), out["n"].tolist()
    (["'=1+1", 'HN2'], [-1, 2])
    """
    out = frame.copy()
    out.columns = [neutralise_formula(c) for c in out.columns]
    for column in out.columns:
        s = out[column]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype | pd.CategoricalDtype):
            text = s.astype(object)
            mask = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES)).to_numpy(bool)
            if mask.any():
                text = text.copy()
                text[mask] = "'" + text[mask].astype(str)
                out[column] = text
    return out
