"""A card is untrusted: its markdown is rendered so that nothing in it can run, and it is capped."""

from __future__ import annotations

import re

from hg_localization.catalog.cards import (
    CARD_RENDER_MAX_BYTES,
    CardRenderer,
    config_rows,
    front_matter_rows,
    render_card,
)

FILES = "/org/name/resolve/abc"


def rendered(markdown: str) -> str:
    return render_card(markdown.encode(), FILES).html


def test_raw_html_is_shown_as_text_never_as_markup() -> None:
    html = rendered(
        '<script>alert(1)</script>\n\nHi <img src=x onerror="alert(2)"> <iframe src="/x"></iframe>'
    )
    assert "<script" not in html and "<img src=x" not in html and "<iframe" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


def test_links_that_run_code_are_not_links() -> None:
    html = rendered(
        "[a](javascript:alert(1)) [b](JAVASCRIPT:alert(1)) [c](vbscript:msgbox) "
        "[d](data:text/html;base64,PHNjcmlwdD4=) [e](java\tscript:alert(1)) <javascript:alert(1)>"
    )
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert not [
        h for h in hrefs if h.lower().replace("\t", "").startswith(("javascript", "vbscript", "data"))
    ]
    assert "javascript:alert(1)" in html  # shown as the text it is


def test_external_links_and_images_leave_nothing_to_fetch() -> None:
    html = rendered("[site](https://example.org) ![badge](https://img.example.org/b.svg)")
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">site</a>' in html
    assert "<img" not in html  # an image on another host is a link the visitor may follow
    assert 'href="https://img.example.org/b.svg"' in html and "[image: badge]" in html


def test_relative_links_and_images_point_at_the_repos_files() -> None:
    html = rendered("![plot](./docs/plot%20one.png) [cfg](config.json) [up](../../etc/passwd) [top](#usage)")
    assert f'src="{FILES}/docs/plot%20one.png"' in html
    assert f'href="{FILES}/config.json"' in html
    assert "passwd" not in re.findall(r'href="([^"]*)"', html).__str__()
    assert 'href="#usage"' in html


def test_front_matter_is_a_table_not_part_of_the_card() -> None:
    card = render_card(b"---\nlicense: mit\ntags: [a, b]\nextra: {k: 1}\n---\n# Title\n", FILES)
    assert "license" not in card.html and "<h1>Title</h1>" in card.html
    assert front_matter_rows(card.front_matter) == [
        ("license", "mit"),
        ("tags", "a, b"),
        ("extra", '{"k": 1}'),
    ]


def test_a_huge_card_is_cut_and_says_so() -> None:
    body = b"# Big\n\n" + b"word " * (5 * 1024 * 1024 // 5)
    reads: list[int] = []

    def read(limit: int) -> bytes:
        reads.append(limit)
        return body[:limit]

    renderer = CardRenderer()
    card = renderer.render(("src", "model", "big", "c1"), read, FILES)
    assert card.truncated and "<h1>Big</h1>" in card.html
    assert reads == [CARD_RENDER_MAX_BYTES + 1]  # never more than the cap is read
    assert renderer.render(("src", "model", "big", "c1"), read, FILES) is card  # rendered once per commit
    assert len(reads) == 1


def test_config_rows_are_dotted_keys_with_json_values() -> None:
    rows = config_rows({"a": True, "b": {"c": None, "d": "x"}, "e": [1, 2]})
    assert rows == [("a", "true"), ("b.c", "null"), ("b.d", '"x"'), ("e", "[1, 2]")]
