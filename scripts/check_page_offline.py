"""Exit non-zero when an HTML page refers to another site or carries inline script.

Used by the production smoke test: the app is self-hosted and served offline, so every script, style,
image, form target and link must stay on the same host, and the CSP forbids inline script.
Usage: python scripts/check_page_offline.py PAGE.html
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

URL_ATTRIBUTES = {"src", "href", "action", "formaction", "poster", "data", "srcset", "background"}
EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
CSS_EXTERNAL = re.compile(r"url\(\s*['\"]?\s*(?:https?:)?//|@import", re.IGNORECASE)


class OfflineChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_inline_script = False
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES and EXTERNAL.match(value):
                self.problems.append(f"<{tag} {name}={value!r}> points to another site")
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> is an inline event handler")
            if name == "style" and CSS_EXTERNAL.search(value):
                self.problems.append(f"<{tag} style=...> loads from another site")
        if tag == "script" and not values.get("src"):
            self._in_inline_script = values.get("type") not in ("application/json", "text/template")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.problems.append("an inline <script> (the CSP refuses it)")
        if self._in_style and CSS_EXTERNAL.search(data):
            self.problems.append("a <style> block loads from another site")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    checker = OfflineChecker()
    checker.feed(Path(argv[1]).read_text(encoding="utf-8"))
    checker.close()
    for problem in checker.problems:
        print(f"  {argv[1]}: {problem}", file=sys.stderr)
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
