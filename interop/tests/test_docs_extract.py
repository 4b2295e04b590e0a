"""The snippet extractor on small synthetic pages (one rule each), then on the real sample pages when present."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from interop.docs.extract import (
    NO_FENCES_REASON,
    SCRAPED_REASON,
    Page,
    Snippet,
    content_digest,
    extract_page,
    extract_text,
)
from interop.paths import REPO

SHARED = Path(os.environ.get("ILP_SHARED_DIR", REPO.parent / "shared"))
PAGES = SHARED / "docs-pages"

F = "```"   # a fence marker, so the test pages below stay readable


def page(*lines: str) -> Page:
    return extract_text("\n".join(lines) + "\n", "synthetic.mdx")


# --- fences -----------------------------------------------------------------------------------------------

def test_plain_fences_give_index_line_language_info_and_code():
    p = page("# Title", "", f"{F}python", "print(1)", "print(2)", F, "", "text", f"{F}golang", "package x", F)
    assert p.name == "synthetic.mdx" and p.path == Path("synthetic.mdx") and p.no_snippet_reason is None
    assert [(s.index, s.line, s.language, s.info, s.tab) for s in p.snippets] == [
        (1, 3, "python", "python", None), (2, 9, "go", "golang", None)]
    assert p.snippets[0].code == "print(1)\nprint(2)\n"
    assert p.snippets[1].page == "synthetic.mdx"


def test_tilde_fences_and_backticks_inside_them():
    p = page("~~~~sh", F, "echo hi", F, "~~~", "still code", "~~~~", "after")
    assert len(p.snippets) == 1
    s = p.snippets[0]
    assert s.language == "bash" and s.code == f"{F}\necho hi\n{F}\n~~~\nstill code\n"


def test_longer_closing_fence_closes_and_shorter_or_decorated_one_does_not():
    p = page(f"{F}`js", "a()", F, f"{F} not a close", f"{F}``  ", "outside", f"{F}json", "{}", f"{F}`")
    assert [s.code for s in p.snippets] == [f"a()\n{F}\n{F} not a close\n", "{}\n"]
    assert [s.line for s in p.snippets] == [1, 7]


def test_unclosed_fence_runs_to_the_end_of_the_page():
    p = page("intro", f"{F}bash", "ls", "", "<TabItem value=\"x\">", "pwd")
    assert len(p.snippets) == 1
    assert p.snippets[0].code == 'ls\n\n<TabItem value="x">\npwd\n'
    assert p.snippets[0].tab is None


def test_indented_fence_has_its_indentation_removed():
    p = page("<Tabs>", '  <TabItem value="go">', "", "    ```go", "    func f() {", "    \treturn", "    }",
             "  x := 1", "    ```", "  </TabItem>", "</Tabs>")
    s = p.snippets[0]
    assert s.line == 4 and s.language == "go" and s.tab == "go"
    assert s.code == "func f() {\n\treturn\n}\nx := 1\n"


def test_empty_block_is_still_a_snippet():
    p = page(F, F)
    assert len(p.snippets) == 1 and p.snippets[0].code == "" and p.snippets[0].language == ""


def test_inline_triple_backticks_are_not_a_fence():
    p = page("Use ```js``` in prose.", "no code")
    assert p.snippets == [] and p.no_snippet_reason == NO_FENCES_REASON


def test_crlf_and_bom_are_tolerated():
    p = extract_text("\ufeff" + f"{F}py\r\nx = 1\r\n{F}\r\n", "crlf.md")
    assert p.snippets[0].code == "x = 1\n" and p.snippets[0].language == "python" and p.snippets[0].line == 1


def test_front_matter_is_skipped_but_line_numbers_count_it():
    p = page("---", "title: T", "---", "", f"{F}ini", "a=1", F)
    assert p.snippets[0].line == 5 and p.snippets[0].language == "ini"


# --- info strings -----------------------------------------------------------------------------------------

def test_title_attribute_and_other_attributes_are_parsed():
    p = page(f"{F}conf title='/etc/app/main.conf'", "k=v", F,
             f'{F}js title="a b.js" showLineNumbers mode=strict', "x", F,
             f"{F}toml title=plain.toml", "a = 1", F)
    a, b, c = p.snippets
    assert (a.language, a.attrs) == ("ini", {"title": "/etc/app/main.conf"})
    assert a.info == "conf title='/etc/app/main.conf'"
    assert (b.language, b.attrs) == ("javascript", {"title": "a b.js", "showLineNumbers": "", "mode": "strict"})
    assert (c.language, c.attrs) == ("toml", {"title": "plain.toml"})


@pytest.mark.parametrize("words, language", [
    (["js", "javascript", "node", "nodejs", "mjs", "cjs", "JS"], "javascript"),
    (["go", "golang", "Go"], "go"),
    (["py", "python", "python3"], "python"),
    (["bash", "sh", "shell", "zsh", "console", "shell-session"], "bash"),
    (["ini", "properties", "conf"], "ini"),
    (["json", "jsonc", "json5"], "json"),
    (["toml"], "toml"),
    (["Rust"], "rust"),
])
def test_language_normalisation(words, language):
    p = page(*[line for w in words for line in (f"{F}{w}", "x", F)])
    assert [s.language for s in p.snippets] == [language] * len(words)


# --- tabs -------------------------------------------------------------------------------------------------

def test_tabs_with_fence_languages_and_multiline_values():
    p = page('<Tabs groupId="os" values={[',
             '  {label: "Mac OS", value: "mac"},',
             "  { value: 'deb', label: 'Debian Linux' },",
             ']}>',
             '<TabItem value="mac">', "", f"{F}zsh", "brew list", F, "</TabItem>",
             '<TabItem value="deb">', "", f"{F}sh", "dpkg -l", F, "</TabItem>",
             "</Tabs>", "", f"{F}sh", "uname", F)
    assert [(s.tab, s.language) for s in p.snippets] == [("Mac OS", "bash"), ("Debian Linux", "bash"), (None, "bash")]


def test_values_opened_on_one_line_and_closed_on_another():
    p = page('<Tabs defaultValue="n" values={[ { label: "NodeJS", value: "n" }, {',
             'label: "Python", value: "p" }, ]}>',
             '<TabItem value="p">', f"{F}python", "pass", F, "</TabItem>", "</Tabs>")
    assert p.snippets[0].tab == "Python"


def test_tabs_without_fence_languages_take_the_language_from_the_tab():
    p = page('<Tabs values={[{label: "NodeJS", value: "a"}, {label: "Go", value: "b"}, {label: "Python", value: "c"},',
             '{label: "Shell", value: "d"}, {label: "Windows", value: "e"}, {label: "Other", value: "golang"}]}>',
             *[line for v in "abcde" for line in (f'<TabItem value="{v}">', F, "code", F, "</TabItem>")],
             '<TabItem value="golang">', F, "code", F, "</TabItem>",
             "</Tabs>")
    assert [(s.tab, s.language) for s in p.snippets] == [
        ("NodeJS", "javascript"), ("Go", "go"), ("Python", "python"), ("Shell", "bash"), ("Windows", ""),
        ("Other", "go")]


def test_tab_label_falls_back_to_the_label_attribute_then_the_value():
    p = page("<Tabs>", '<TabItem value="js" label="Node.js" default>', F, "x", F, "</TabItem>",
             "<TabItem value='python3'>", F, "x", F, "</TabItem>",
             '<TabItem value={"go"}>', F, "x", F, "</TabItem>", "</Tabs>")
    assert [(s.tab, s.language) for s in p.snippets] == [
        ("Node.js", "javascript"), ("python3", "python"), ("go", "go")]


def test_tab_item_tag_spread_over_lines():
    p = page('<Tabs values={[{label: "Client", value: "c"}]}>', "<TabItem", '  value="c"', "  default", ">",
             f"{F}js", "x", F, "</TabItem>", "</Tabs>")
    assert p.snippets[0].tab == "Client"


def test_nested_tabs_and_closing_restore_the_outer_tab():
    p = page('<Tabs values={[{label: "Outer A", value: "a"}]}>', '<TabItem value="a">',
             '<Tabs values={[{label: "Inner B", value: "b"}]}>', '<TabItem value="b">', F, "1", F, "</TabItem>",
             "</Tabs>", F, "2", F, "</TabItem>", "</Tabs>", F, "3", F)
    assert [s.tab for s in p.snippets] == ["Inner B", "Outer A", None]


def test_closing_tabs_also_closes_an_unclosed_tab_item():
    p = page('<Tabs values={[{label: "L", value: "v"}]}>', '<TabItem value="v">', "</Tabs>", F, "x", F)
    assert p.snippets[0].tab is None


def test_tags_inside_code_are_ignored():
    p = page('<Tabs values={[{label: "Docs", value: "d"}, {label: "Fake", value: "f"}]}>', '<TabItem value="d">',
             f"{F}md", "</TabItem>", "</Tabs>", '<TabItem value="f">', F, f"{F}js", "y", F, "</TabItem>", "</Tabs>")
    assert [(s.tab, s.language, s.code) for s in p.snippets] == [
        ("Docs", "md", '</TabItem>\n</Tabs>\n<TabItem value="f">\n'), ("Docs", "javascript", "y\n")]


def test_tags_in_inline_code_are_ignored():
    p = page("Wrap code in `<TabItem value=\"x\">` and ``</Tabs>``.", f"{F}sh", "ls", F)
    assert p.snippets[0].tab is None


# --- pages without fences ---------------------------------------------------------------------------------

def test_plain_page_without_fences():
    p = page("---", "title: Prose", "---", "", "Only words here.", "More words.")
    assert p.snippets == [] and p.no_snippet_reason == NO_FENCES_REASON


def test_page_with_front_matter_and_code_looking_lines_is_not_called_scraped():
    p = page("---", "title: T", "---", "const a = 1")
    assert p.no_snippet_reason == NO_FENCES_REASON


@pytest.mark.parametrize("line", [
    "const answer = 42", "import os", "func main() {", "package demo", "NOW=$(date)", "if (ready) {",
    "Getting started#", "Setup Direct link to Setup"])
def test_scraped_page_reason(line):
    p = page("Some rendered prose about the tool.", "", line, "", "More prose.")
    assert p.snippets == [] and p.no_snippet_reason == SCRAPED_REASON


def test_scraped_reason_wording():
    assert SCRAPED_REASON == ("text scraped from a rendered page: code appears without fences, "
                              "so no snippet can be delimited reliably")
    assert NO_FENCES_REASON == "the page has no fenced code blocks"


# --- files and types --------------------------------------------------------------------------------------

def test_extract_page_reads_a_file(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text(f"text\n{F}node\nrun()\n{F}\n", encoding="utf-8")
    p = extract_page(str(path))
    assert p.path == path and p.name == "guide.md"
    assert p.snippets == [Snippet(page="guide.md", index=1, line=2, language="javascript", info="node", attrs={},
                                  tab=None, code="run()\n")]


def test_the_entry_points_stay_in_extract_and_a_markdown_page_has_no_notes():
    from interop.docs import extract

    for name in ("extract_page", "extract_text", "Snippet", "Page", "content_digest", "normalise_language",
                 "NO_FENCES_REASON", "SCRAPED_REASON"):
        assert name in extract.__all__ and hasattr(extract, name)
    assert page(f"{F}sh", "ls", F).notes == []


def test_snippet_is_frozen_and_hashable():
    s = page(f"{F}ini title=x", "a=1", F).snippets[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.code = ""  # type: ignore[misc]
    assert hash(s) == hash(dataclasses.replace(s))


# --- the real sample pages --------------------------------------------------------------------------------

def sample(prefix: str) -> Path:
    if not PAGES.is_dir():
        pytest.skip(f"sample pages not present: {PAGES} (set ILP_SHARED_DIR to the shared folder)")
    found = sorted(PAGES.glob(prefix + "_*"))
    if not found:
        pytest.skip(f"no sample page {prefix}_* in {PAGES}")
    return found[0]


def test_sample_page_000_has_a_node_and_a_go_tab():
    p = extract_page(sample("000"))
    assert [(s.language, s.tab) for s in p.snippets] == [("javascript", "NodeJS"), ("go", "Go")]
    assert p.no_snippet_reason is None
    assert all(s.code and not s.code.startswith("`") for s in p.snippets)


def test_sample_page_001_has_ten_snippets():
    p = extract_page(sample("001"))
    assert [s.language for s in p.snippets] == [
        "bash", "bash", "bash", "bash", "bash", "ini", "json", "javascript", "go", "python"]
    assert [s.tab for s in p.snippets] == [
        "macOS", "Debian", "Ubuntu", None, None, None, None, "NodeJS", "Go", "Python"]
    assert p.snippets[5].attrs == {"title": "/path/to/server.conf"}
    assert [s.index for s in p.snippets] == list(range(1, 11))
    assert p.snippets[-1].code.rstrip().endswith("send_with_auth()")


def test_sample_page_002_is_scraped_text():
    p = extract_page(sample("002"))
    assert p.snippets == [] and p.no_snippet_reason == SCRAPED_REASON


# --- headings and digests (what names a snippet in the expectations) ---------------------------------------

def test_each_snippet_knows_its_nearest_heading():
    p = page(f"{F}sh", "before any heading", F, "# Guide", "## Server `conf` {#server}", "", "<Tabs>",
             f"{F}ini", "a=1", F, "Client keys", "-----------", f"{F}json", "{}", F,
             f"{F}python", "# a comment, not a heading", F, "### Closing hashes ###", f"{F}go", "package x", F)
    assert [(s.language, s.heading) for s in p.snippets] == [
        ("bash", ""), ("ini", "Server conf"), ("json", "Client keys"), ("python", "Client keys"),
        ("go", "Closing hashes")]


def test_the_digest_follows_the_content_not_its_place_or_trailing_spaces():
    first = page("# A", f"{F}js", "run()", F).snippets[0]
    moved = page("# A", "text", f"{F}js", "", "run()   ", "", F).snippets[0]
    edited = page("# A", f"{F}js", "run(1)", F).snippets[0]
    assert first.digest == moved.digest == content_digest("run()\n")
    assert len(first.digest) == 12 and edited.digest != first.digest
