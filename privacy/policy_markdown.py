"""A minimal, safe Markdown subset for policy texts: escape every character of HTML first, then add markup.

Supported: `#`/`##`/`###` headings, `-`/`*` bullet lists, `**bold**`, blank-line paragraphs, bare https://
links and e-mail addresses. Anything else stays literal text, so a policy can never inject HTML or script into the page.
"""

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_URL = re.compile(r"(?<![\w/\"=])(https?://[^\s<]+[^\s<.,;:)])")
_EMAIL = re.compile(r"(?<![\w/.:])([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


def _inline(text: str) -> str:
    html = escape(text)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _URL.sub(r'<a href="\1" rel="nofollow noopener">\1</a>', html)
    html = _EMAIL.sub(r'<a href="mailto:\1">\1</a>', html)
    return html


def render_policy_markdown(source: str) -> SafeString:
    out: list[str] = []
    paragraph: list[str] = []
    in_list = False

    def flush_paragraph():
        if paragraph:
            out.append("<p>" + "<br>".join(_inline(line) for line in paragraph) + "</p>")
            paragraph.clear()

    def close_list():
        nonlocal in_list
        if in_list:
            out.append("</ul>")
            in_list = False

    for raw in source.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        heading = re.match(r"^(#{1,3})\s+(.*)$", line)
        bullet = re.match(r"^[-*•]\s+(?:[•]\s*)?(.*)$", line)
        if not line:
            flush_paragraph()
            close_list()
        elif heading:
            flush_paragraph()
            close_list()
            level = len(heading.group(1)) + 1  # the page title is the h1
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif bullet:
            flush_paragraph()
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_inline(bullet.group(1))}</li>")
        else:
            close_list()
            paragraph.append(line)
    flush_paragraph()
    close_list()
    return mark_safe("\n".join(out))  # noqa: S308 — every piece of text above went through escape()
