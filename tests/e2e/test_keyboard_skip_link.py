"""Journey: a keyboard user skips the header straight to the content."""


def _focused(page) -> dict:
    return page.evaluate("""() => {
        const el = document.activeElement;
        const box = el.getBoundingClientRect();
        return {tag: el.tagName, id: el.id, text: el.textContent.trim(),
                href: el.getAttribute('href'),
                visible: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
                         && box.right <= window.innerWidth};
    }""")


def test_the_skip_link_is_the_first_tab_stop_and_moves_focus_to_the_content(page):
    page.goto("/")
    page.keyboard.press("Tab")
    first_stop = _focused(page)
    assert first_stop["tag"] == "A" and first_stop["href"] == "#contenu"
    assert first_stop["text"] == "Aller au contenu"
    assert first_stop["visible"], "the skip link must show on screen when it has the focus"

    page.keyboard.press("Enter")
    target = _focused(page)
    assert (target["tag"], target["id"]) == ("MAIN", "contenu")
    page.keyboard.press("Tab")
    after = _focused(page)
    main_links = page.locator("main#contenu a, main#contenu button, main#contenu input")
    assert after["tag"] in ("A", "BUTTON", "INPUT") and main_links.count() > 0
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_the_skip_link_also_leads_the_login_page(page):
    page.goto("/comptes/login/")
    page.keyboard.press("Tab")
    assert _focused(page)["href"] == "#contenu"
    page.keyboard.press("Enter")
    assert _focused(page)["id"] == "contenu"
