"""bot.render: ordered lists keep their numbers, and screenshot transcriptions are marked as examples."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from bot.knowledge import SCREENSHOT_NOTE, load_knowledge
from bot.render import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, markdown_to_html, sanitize_html
from bot.settings import PROJECT_ROOT

KNOWLEDGE = PROJECT_ROOT / "knowledge"


class _ListNumbers(HTMLParser):
    """The number a browser shows in front of each item of each <ol> (its `start`, then counting up)."""

    def __init__(self) -> None:
        super().__init__()
        self.lists: list[list[int]] = []
        self._open: list[list[int] | None] = []  # None for a <ul>
        self._next: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "ol":
            start = dict(attrs).get("start") or "1"
            self._open.append([])
            self._next.append(int(start))
            self.lists.append(self._open[-1])  # type: ignore[arg-type]
        elif tag == "ul":
            self._open.append(None)
            self._next.append(0)
        elif tag == "li" and self._open and self._open[-1] is not None:
            self._open[-1].append(self._next[-1])
            self._next[-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ol", "ul"):
            self._open.pop()
            self._next.pop()


def _shown_numbers(html: str) -> list[list[int]]:
    parser = _ListNumbers()
    parser.feed(html)
    return parser.lists


def _exit_html() -> str:
    return markdown_to_html(load_knowledge(KNOWLEDGE).by_id["provider-exit"].answer)


def test_exit_steps_are_numbered_one_to_five_then_one_to_four() -> None:
    # 一、退出条件检查 has checks 1–5, each followed by a bullet list (so CommonMark opens a new <ol> each time);
    # 三、保证金退款说明 has items 1–4. Without `start`, every one of them shows "1.".
    numbers = [n for ol in _shown_numbers(_exit_html()) for n in ol]
    assert numbers == [1, 2, 3, 4, 5, 1, 2, 3, 4]


def test_a_numbered_list_after_a_bullet_list_keeps_its_start() -> None:
    html = markdown_to_html("1. 第一步\n\n- 说明\n\n2. 第二步\n")
    assert '<ol start="2">' in html
    assert _shown_numbers(html) == [[1], [2]]


@pytest.mark.parametrize(
    "raw",
    [
        '<ol start="javascript:1"><li>x</li></ol>',
        '<ol start="x"><li>x</li></ol>',
        '<ol start="-1"><li>x</li></ol>',
        '<ol start="2 onclick=alert(1)"><li>x</li></ol>',
        '<ol start=""><li>x</li></ol>',
    ],
)
def test_a_start_that_is_not_a_number_is_dropped(raw: str) -> None:
    clean = sanitize_html(raw)
    assert clean == "<ol><li>x</li></ol>"


def test_start_is_kept_only_on_ol() -> None:
    assert sanitize_html('<ol start="3"><li>x</li></ol>') == '<ol start="3"><li>x</li></ol>'
    assert sanitize_html('<ul start="3"><li>x</li></ul>') == "<ul><li>x</li></ul>"
    assert sanitize_html('<p start="3">x</p>') == "<p>x</p>"


# Console-screenshot text the source FAQ transcribed into this answer: a status with a timestamp, status words,
# button captions and "←" back links. None of it is the reader's own status.
SCREENSHOT_FRAGMENTS = [
    "未通过 2025-05-20 15:41:19",
    "请先通过检查",
    "← 退出云市场条件自查",
    "商品状态是否通过 <strong>未通过</strong>",
    "资源状态是否通过 <strong>通过</strong>",
    "客户开票是否通过 <strong>未通过</strong>",
    "← 申请退出云市场",
    "退出原因 *",
    "提交退出申请",
]


def _marked_blocks(html: str) -> tuple[list[str], str]:
    """The blockquotes whose first paragraph is the screenshot note, and the HTML outside them."""
    note = re.escape(f"<blockquote>\n<p>{SCREENSHOT_NOTE}</p>")
    block = re.compile(note + r"(.*?)</blockquote>", re.S)
    return block.findall(html), block.sub("", html)


def test_exit_screenshot_text_sits_under_the_example_note() -> None:
    html = _exit_html()
    marked, outside = _marked_blocks(html)
    assert len(marked) == 3  # the application card, the self-check page, the exit application form
    for fragment in SCREENSHOT_FRAGMENTS:
        assert any(fragment in b for b in marked), fragment
        assert fragment not in outside, fragment
    for word in ("未通过", "←", "2025-05-20"):
        assert word not in outside, word
    # the answer's own steps are not swallowed by the quotes
    for heading in ("一、退出条件检查", "二、申请退出操作", "三、保证金退款说明", "四、退出结果与支持"):
        assert f"<h3>{heading}</h3>" in outside


# ---------------------------------------------------------------------- the sanitiser, attacked directly


class _Tags(HTMLParser):
    """Every tag and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def _assert_inert(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, html)
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}, (tag, name, html)
            if name == "href":  # a scheme, if the browser would read one, is a web or mail one
                scheme = re.match(r"\s*([a-zA-Z][a-zA-Z0-9+.\-]*):", value)
                assert scheme is None or scheme.group(1).lower() in ("http", "https", "mailto"), (value, html)
            if name == "style":
                assert re.fullmatch(r"text-align:\s*\w+;?", value.strip()), (value, html)


HOSTILE_MARKDOWN = [
    "[点我](javascript:alert(1))",
    "[点我](JaVaScRiPt:alert(1))",
    "[点我](java&#x09;script:alert(1))",
    "[点我](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[点我](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    "![图](javascript:alert(1))",
    '![图](https://evil.example/x.png "onerror=alert(1)")',
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)"><b onclick="alert(1)">nested</b></a>',
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="https://evil.example"></iframe>',
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |",
    "> quote <style>body{display:none}</style>",
    "`<script>alert(1)</script>`",
]


@pytest.mark.parametrize("markdown", HOSTILE_MARKDOWN)
def test_hostile_markdown_renders_inert(markdown: str) -> None:
    html = markdown_to_html(markdown)
    _assert_inert(html)  # what is left of an attack is text: "[点我](javascript:…)" may be shown, never followed


HOSTILE_HTML = [
    '<a href="javascript:alert(1)">x</a>',
    '<a href=" jAvAsCrIpT:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<p onmouseover="alert(1)">x</p>',
    '<a href="https://ok.example" onclick="alert(1)" onfocus="alert(1)" autofocus>x</a>',
    '<td style="background:url(javascript:alert(1))">x</td>',
    '<th style="text-align:left;position:fixed;top:0">x</th>',
    '<table><tr><td><iframe srcdoc="<script>alert(1)</script>"></iframe></td></tr></table>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",  # mutation-XSS shape
    '<form action="https://evil.example"><input name="password"></form>',
    '<ol start="1" onclick="alert(1)"><li>x</li></ol>',
]


@pytest.mark.parametrize("raw", HOSTILE_HTML)
def test_hostile_html_is_stripped_to_the_allowed_tags(raw: str) -> None:
    _assert_inert(sanitize_html(raw))


def test_safe_markup_survives_with_its_links_hardened() -> None:
    html = markdown_to_html("**退款**：见 [已购产品与服务](https://console.cloud.tencent.com/deal) 或 mailto 链接")
    assert "<strong>退款</strong>" in html
    assert '<a href="https://console.cloud.tencent.com/deal" rel="noopener noreferrer nofollow">' in html


def test_a_users_own_words_in_a_reply_stay_text() -> None:
    """A rule may repeat what the user typed (an impossible date): their markup is shown, not obeyed."""
    typed = "<img src=x onerror=alert(1)>2月30日 [x](javascript:alert(1))"
    html = markdown_to_html(f"“{typed}”不是一个有效的日期，请再确认一下。")
    _assert_inert(html)
    assert "&lt;img src=x onerror=alert(1)&gt;2月30日" in html


def test_links_the_source_stripped_to_a_hash_render_as_their_words() -> None:
    """The FAQ source lost its link targets ("[云市场开票记录](#)"): no answer links back to the page it is on, and
    the words stay; a real link keeps its target."""
    html = markdown_to_html("请在 [云市场开票记录](#) 中查阅，或看 [文档](https://cloud.tencent.com/document)、[空]( )")
    assert "云市场开票记录" in html and "空" in html
    assert html.count("<a ") == 1 and 'href="https://cloud.tencent.com/document"' in html
    answers = [e.answer for e in load_knowledge(KNOWLEDGE).entries]
    assert sum("](#)" in a for a in answers) >= 20  # what this guards against is really in the FAQ
    for answer in answers:
        rendered = markdown_to_html(answer)
        assert 'href="#"' not in rendered and 'href=""' not in rendered and "<a>" not in rendered
