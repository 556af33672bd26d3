"""Reading pages the way a browser (and a screen reader) would, for the account tests."""

import re
from html.parser import HTMLParser

# Words allauth's English templates would leave on a page if a string escaped translation.
ENGLISH_LEFTOVERS = re.compile(
    r"\b(Sign In|Sign Up|Sign Out|Email Address|Password|Forgot|Remember Me|Continue|Cancel|"
    r"Confirm|Verify|Recovery|Authenticator|Activate|Deactivate|Change|Reset|Submit|Account|"
    r"Third-Party|Enter|Unused|Download|Generate|Trust)\b")


class Page(HTMLParser):
    """Headings, form controls, labels, forms, scripts and style attributes of a page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.lang = None
        self.headings: list[tuple[int, str]] = []
        self.controls: list[dict] = []
        self.label_targets: set[str] = set()
        self.inline_scripts = 0
        self.style_attributes = 0
        self.forms: list[dict] = []
        self.links: list[tuple[str, str]] = []
        self.in_main = False
        self.text_parts: list[str] = []
        self._heading: int | None = None
        self._heading_text: list[str] = []
        self._skip = 0
        self._link: str | None = None
        self._link_text: list[str] = []
        self._form_open = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs:
            self.style_attributes += 1
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "main":
            self.in_main = True
        elif tag == "script":
            if not attrs.get("src"):
                self.inline_scripts += 1
            self._skip += 1
        elif tag == "style":
            self.inline_scripts += 1
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._heading, self._heading_text = int(tag[1]), []
        elif tag == "label" and attrs.get("for"):
            self.label_targets.add(attrs["for"])
        elif tag == "form":
            self.forms.append({"action": attrs.get("action"), "method": attrs.get("method"),
                               "inputs": {}, "names": set()})
            self._form_open = True
        elif tag == "a" and attrs.get("href"):
            self._link, self._link_text = attrs["href"], []
        if tag in ("input", "select", "textarea", "button"):
            if tag != "button" and attrs.get("name") and self._form_open:
                self.forms[-1]["names"].add(attrs["name"])
                kind = attrs.get("type")
                # Like a browser: only checked boxes, and no submit button until clicked.
                if kind not in ("checkbox", "radio", "submit", "image") or "checked" in attrs:
                    self.forms[-1]["inputs"][attrs["name"]] = attrs.get("value", "")
            if tag != "button" and attrs.get("type") not in ("hidden", "submit"):
                self.controls.append(attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form_open = False
        elif tag in ("script", "style"):
            self._skip -= 1
        elif tag == "main":
            self.in_main = False
        elif self._heading is not None and tag == f"h{self._heading}":
            self.headings.append((self._heading, " ".join("".join(self._heading_text).split())))
            self._heading = None
        elif tag == "a" and self._link is not None:
            self.links.append((self._link, " ".join("".join(self._link_text).split())))
            self._link = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._heading is not None:
            self._heading_text.append(data)
        if self._link is not None:
            self._link_text.append(data)
        if self.in_main:
            self.text_parts.append(data)

    @property
    def main_text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def unlabelled_controls(self) -> list[dict]:
        return [c for c in self.controls
                if c.get("id") not in self.label_targets and not c.get("aria-label")]

    def form_posting_to(self, action: str) -> dict:
        for form in self.forms:
            if form["action"] == action and (form["method"] or "").lower() == "post":
                return form
        raise AssertionError(f"no form posting to {action}: {[f['action'] for f in self.forms]}")

    def link_to(self, text_contains: str) -> str:
        for href, text in self.links:
            if text_contains in text:
                return href
        raise AssertionError(f"no link containing {text_contains!r}")


def assert_accessible_french_shell_page(response, status: int = 200) -> Page:
    """The page is in the portal shell, in French, with one h1, labelled controls, and no
    inline script or style (the Content-Security-Policy forbids them)."""
    assert response.status_code == status, response.status_code
    page = Page(response.content.decode())
    assert page.lang == "fr"
    assert 'class="site-header"' in page.html and 'id="contenu"' in page.html
    assert [level for level, _ in page.headings].count(1) == 1, page.headings
    assert page.unlabelled_controls() == []
    assert page.inline_scripts == 0
    assert page.style_attributes == 0
    leftovers = ENGLISH_LEFTOVERS.findall(page.main_text)
    assert leftovers == [], (leftovers, page.main_text)
    return page
