"""One escaping helper for every user string that reaches folium/Leaflet.

Leaflet treats popup and tooltip strings as HTML by design, and folium puts Popup and Tooltip
text inside JavaScript template literals (`...`), where a backtick ends the string and `${...}`
runs code. So text is HTML-escaped (which also removes `<` and so any `</script>`) and then the
three template-literal metacharacters become HTML entities: the browser shows them as typed,
but JavaScript never sees them. (reliability brief §1.1; folium issues #1640, #955.)
"""

from __future__ import annotations

import html
import re

_JS_TEMPLATE_CHARS = str.maketrans({"\\": "&#92;", "`": "&#96;", "$": "&#36;"})


def safe_text(value: object) -> str:
    """Text safe to place in folium HTML, template literals and Leaflet innerHTML.

    >>> safe_text("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> safe_text("`${alert(1)}`")
    '&#96;&#36;{alert(1)}&#96;'
    """
    if value is None:
        return ""
    return html.escape(str(value), quote=True).translate(_JS_TEMPLATE_CHARS)


def safe_lines(*lines: object) -> str:
    """Escaped lines joined with <br>: the only markup added is ours."""
    return "<br>".join(safe_text(line) for line in lines if line not in (None, ""))


_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def markdown_text(value: object) -> str:
    r"""Text for st.markdown/st.subheader shown exactly as typed: every ASCII punctuation mark is
    backslash-escaped (CommonMark allows it for all of them), so user text cannot make links,
    images, HTML, LaTeX ($), Streamlit colour/icon directives (:red[...]) or emphasis.

    >>> markdown_text("[x](javascript:alert(1)) *b* $x$")
    '\\[x\\]\\(javascript\\:alert\\(1\\)\\) \\*b\\* \\$x\\$'
    """
    if value is None:
        return ""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", str(value))
