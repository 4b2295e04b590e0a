"""The page formats beyond Markdown (reStructuredText, source files, Rust doc comments), the format chosen by
file name, and the language table (formats/languages.toml) with its loader; each on a small page written here."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interop.datafile import DataFileError
from interop.docs.extract import (
    EMPTY_SOURCE_REASON,
    NO_FENCES_REASON,
    NO_RST_BLOCKS_REASON,
    extract_page,
    extract_text,
    normalise_language,
    page_format,
)
from interop.docs.formats.languages import LANGUAGES_FILE, LanguagesError, load_languages
from interop.docs.formats.rst_include import selected_lines

F = "```"


def text_of(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def rst(*lines: str):
    return extract_text(text_of(*lines), "guide.rst")


def summary(page):
    return [(s.line, s.language, s.info, s.attrs, s.tab, s.heading, s.code) for s in page.snippets]


# --- which format a file name gets ------------------------------------------------------------------------

@pytest.mark.parametrize("name, kind", [
    ("guide.md", "markdown"), ("guide.mdx", "markdown"), ("README", "markdown"), ("README.md", "markdown"),
    ("000_641e6b6320ef4640.txt", "markdown"), ("<page>", "markdown"), ("README.rst", "rst"), ("api.REST", "rst"),
    ("auth.py", "source"), ("auth.js", "source"), ("auth.mjs", "source"), ("auth.cjs", "source"),
    ("auth.ts", "source"), ("main.go", "source"), ("lib.rs", "source"), ("Auth.java", "source"),
    ("auth.tsx", "source"), ("auth.c", "source"), ("auth.cc", "source"), ("Auth.cs", "source"),
    ("auth.h", "markdown"), ("notes.markdown", "markdown"),
])
def test_the_format_follows_the_file_name(name, kind):
    assert page_format(name) == kind


def test_a_readme_without_extension_is_markdown(tmp_path):
    path = tmp_path / "README"
    path.write_text(f"# Client\n\n{F}python\nimport questdb\n{F}\n", encoding="utf-8")
    p = extract_page(path)
    assert p.path == path and p.name == "README"
    assert summary(p) == [(3, "python", "python", {}, None, "Client", "import questdb\n")]


# --- reStructuredText -------------------------------------------------------------------------------------

def test_rst_code_block_and_code_directives_skip_their_options():
    p = rst("Sending rows", "============", "",
            ".. code-block:: python", "   :caption: auth.py", "   :linenos:", "",
            "   import socket", "", "   print(1)", "",
            "Text between.", "",
            ".. code:: go", "", "    package main", "", "      func f() {}",
            "Not code any more.")
    assert summary(p) == [
        (4, "python", "python", {"caption": "auth.py", "linenos": ""}, None, "Sending rows",
         "import socket\n\nprint(1)\n"),
        (14, "go", "go", {}, None, "Sending rows", "package main\n\n  func f() {}\n")]
    assert p.no_snippet_reason is None and [s.index for s in p.snippets] == [1, 2]


def test_rst_literal_blocks_in_their_three_spellings_are_unlabelled():
    p = rst("Install it::", "", "    pip install questdb", "", "Expanded form ::", "", "  a", "  b", "", "::", "",
            "   lone", "after")
    assert [(s.line, s.language, s.code) for s in p.snippets] == [
        (1, "", "pip install questdb\n"), (5, "", "a\nb\n"), (10, "", "lone\n")]


def test_rst_double_colon_needs_a_blank_line_and_an_indented_block():
    p = rst("Ends with colons::", "but the paragraph goes on.", "", "Ends again::", "", "Not indented.")
    assert p.snippets == [] and p.no_snippet_reason == NO_RST_BLOCKS_REASON


def test_rst_literal_block_in_a_list_item_stops_at_the_item_text():
    p = rst("- Run this::", "", "      ls -l", "", "  More text of the item.", "", "- Next item",
            "", "Title", "=====", "Right under the title::", "", " one space in")
    assert [s.code for s in p.snippets] == ["ls -l\n", "one space in\n"]


def test_rst_section_titles_underlined_or_overlined():
    p = rst("=====", "Guide", "=====", "", "::", "", "  one", "", "Client keys", "~~~~~~~~~~~", "", "::", "",
            "  two", "", "Too short", "--", "", "::", "", "  three", "", "Short but long enough", "----", "",
            ".. code:: sh", "", "   ls")
    assert [(s.heading, s.code) for s in p.snippets] == [
        ("Guide", "one\n"), ("Client keys", "two\n"), ("Client keys", "three\n"),
        ("Short but long enough", "ls\n")]


def test_rst_comments_are_skipped_with_their_block():
    p = rst(".. a comment::", "", ".. this comment", "   spans lines::", "", "       not code", "",
            "..", "", "   an indented paragraph after an empty comment::", "", "      code")
    assert [s.code for s in p.snippets] == ["code\n"]


def test_rst_highlight_sets_the_language_of_unlabelled_blocks():
    p = rst("::", "", "  before", "", ".. highlight:: js", "", "Then::", "", "  run()", "",
            ".. code-block::", "", "  also()", "", ".. code-block:: sh", "", "  ls", "",
            ".. highlight:: none", "", "::", "", "  plain")
    assert [(s.language, s.code) for s in p.snippets] == [
        ("", "before\n"), ("javascript", "run()\n"), ("javascript", "also()\n"), ("bash", "ls\n"), ("", "plain\n")]


def test_rst_tabs_give_their_label_and_language():
    p = rst(".. tabs::", "", "   .. tab:: TypeScript", "", "      ::", "", "         send()", "",
            "   .. group-tab:: Rust", "", "      .. code-block:: rust,no_run", "", "         main()", "",
            "   .. code-tab:: c++ C++ client", "", "      int main() {}", "",
            "   .. code-tab:: java", "", "      class A {}", "",
            ".. code-block::", "", "   outside")
    assert [(s.tab, s.language, s.attrs, s.code) for s in p.snippets] == [
        ("TypeScript", "typescript", {}, "send()\n"), ("Rust", "rust", {"no_run": ""}, "main()\n"),
        ("C++ client", "cpp", {}, "int main() {}\n"), ("java", "java", {}, "class A {}\n"), (None, "", {}, "outside\n")]


def test_rst_code_inside_other_directives_is_found_and_tabs_are_expanded():
    p = extract_text(".. note::\r\n\r\n   Use it::\r\n\r\n   \tgo()\r\n\t  x\r\n\r\n   Note text.\r\n", "n.rst")
    assert [(s.line, s.code) for s in p.snippets] == [(3, "go()\n  x\n")]   # "   \t" and "\t" both reach column 8


def test_rst_directive_spellings():
    p = rst(".. code-block :: python", "", "   spaced()", "", ".. sourcecode:: console", "", "   $ ls", "",
            ".. code-block::python", "", "   a comment for docutils, not a directive")
    assert [(s.language, s.code) for s in p.snippets] == [("python", "spaced()\n"), ("bash", "$ ls\n")]


def test_rst_page_without_blocks():
    assert rst("Title", "=====", "", "Prose only.").no_snippet_reason == NO_RST_BLOCKS_REASON


# --- Sphinx literalinclude ---------------------------------------------------------------------------------

def write_example(tmp_path):
    (tmp_path / "examples").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "examples" / "auth.py").write_text(
        "import socket\n# start\ndef send():\n    sock = socket.socket()\n    sock.close()\n# end\nsend()\n", "utf-8")
    (tmp_path / "examples" / "main.go").write_text("package main\r\n\r\nfunc main() {}\r\n", "utf-8")
    return tmp_path / "docs" / "guide.rst"


def test_literalinclude_reads_the_file_beside_the_page(tmp_path):
    page = write_example(tmp_path)
    page.write_text(text_of(
        "Auth", "====", "",
        ".. literalinclude:: ../examples/auth.py", "   :language: python", "   :caption: Auth", "",
        ".. literalinclude:: ../examples/auth.py", "   :start-after: # start", "   :end-before: # end",
        "   :lines: 2-", "   :dedent: 4", "   :prepend: # shown", "",
        ".. literalinclude:: ../examples/auth.py", "   :start-at: def send", "   :end-at: sock.close", "",
        ".. literalinclude:: ../examples/main.go", "",
        ".. literalinclude:: ../examples/auth.py", "   :lines: 1,7"), "utf-8")
    p = extract_page(page)
    assert p.notes == []
    assert [(s.line, s.language, s.info, s.heading, s.code) for s in p.snippets] == [
        (4, "python", "../examples/auth.py", "Auth", (tmp_path / "examples" / "auth.py").read_text("utf-8")),
        (8, "python", "../examples/auth.py", "Auth", "# shown\nsock = socket.socket()\nsock.close()\n"),
        (15, "python", "../examples/auth.py", "Auth", "def send():\n    sock = socket.socket()\n    sock.close()\n"),
        (19, "go", "../examples/main.go", "Auth", "package main\n\nfunc main() {}\n"),
        (21, "python", "../examples/auth.py", "Auth", "import socket\nsend()\n")]
    assert p.snippets[0].attrs == {"language": "python", "caption": "Auth"}


def test_a_literalinclude_that_cannot_be_read_is_a_note_not_a_snippet(tmp_path):
    page = write_example(tmp_path)
    text = text_of(".. literalinclude:: ../examples/missing.py", "",
                   ".. literalinclude:: ../examples/auth.py", "   :pyobject: send", "",
                   ".. literalinclude:: ../examples/auth.py", "   :start-after: # nowhere", "",
                   ".. code-block:: sh", "", "   ls")
    page.write_text(text, "utf-8")
    p = extract_page(page)
    assert [s.code for s in p.snippets] == ["ls\n"]
    assert len(p.notes) == 3
    assert p.notes[0].startswith("line 1: literalinclude ../examples/missing.py: ")
    assert ":pyobject: is not applied" in p.notes[1] and "'# nowhere' is not in the file" in p.notes[2]
    unplaced = extract_text(text, "guide.rst")   # no folder: nothing can be found
    assert [s.code for s in unplaced.snippets] == ["ls\n"] and all("folder is not known" in n or "pyobject" in n
                                                                      for n in unplaced.notes)


@pytest.mark.parametrize("spec, count, chosen", [
    ("1", 5, [0]), ("2-3", 5, [1, 2]), ("-2", 5, [0, 1]), ("4-", 5, [3, 4]), ("1,3,5-9", 6, [0, 2, 4, 5]),
    ("x", 5, None), ("3-1", 5, None), ("0", 5, None)])
def test_literalinclude_lines(spec, count, chosen):
    assert selected_lines(spec, count) == chosen


# --- a source file given directly ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, language", [
    ("auth.py", "python"), ("auth.js", "javascript"), ("auth.mjs", "javascript"), ("auth.cjs", "javascript"),
    ("auth.ts", "typescript"), ("main.go", "go"), ("Auth.java", "java"), ("main.rs", "rust"), ("auth.tsx", "tsx"),
    ("auth.c", "c"), ("auth.cpp", "cpp"), ("Auth.cs", "csharp")])
def test_a_source_file_is_one_snippet_in_the_language_of_its_extension(name, language):
    p = extract_text("\ufeff// header\r\nline()\r\n", name)
    assert summary(p) == [(1, language, "", {}, None, "", "// header\nline()\n")]
    assert p.no_snippet_reason is None and p.snippets[0].page == name


def test_a_source_file_read_from_disk_keeps_its_path(tmp_path):
    path = tmp_path / "examples" / "auth.py"
    path.parent.mkdir()
    path.write_text("import socket\n# ```python\n# not a fence of a page\n", encoding="utf-8")
    p = extract_page(path)
    assert p.path == path and len(p.snippets) == 1 and p.snippets[0].code.endswith("not a fence of a page\n")


def test_an_empty_source_file_has_a_reason():
    p = extract_text("\n  \n", "empty.go")
    assert p.snippets == [] and p.no_snippet_reason == EMPTY_SOURCE_REASON


# --- a Rust file's doc tests --------------------------------------------------------------------------------

RUST = [
    "//! The crate.",                  # 1
    "//!",                             # 2
    f"//! {F}",                        # 3
    "//! # use std::net::TcpStream;",  # 4
    "//! let s = 1;",                  # 5
    "//! #",                           # 6
    "//! ##[derive(Debug)]",           # 7
    f"//! {F}",                        # 8
    "",                                # 9
    "pub struct Sender;",              # 10
    "impl Sender {",                   # 11
    "    /// Sends.",                  # 12
    "    ///",                         # 13
    "    /// # Examples",              # 14
    "    ///",                         # 15
    f"    /// {F}rust,no_run",         # 16
    "    ///     let indented = 2;",   # 17
    f"    /// {F}",                    # 18
    "    ///",                         # 19
    f"    /// {F}text",                # 20
    "    /// output",                  # 21
    f"    /// {F}",                    # 22
    "    //// four slashes: a comment",  # 23
    f"    //// {F}",                   # 24
    "    pub fn send(&self) {}",       # 25
    "}",
]


def test_rust_doc_comment_fences_are_the_snippets_hidden_lines_kept():
    p = extract_text("\n".join(RUST) + "\n", "lib.rs")
    assert summary(p) == [
        (3, "rust", "", {}, None, "", "# use std::net::TcpStream;\nlet s = 1;\n#\n##[derive(Debug)]\n"),
        (16, "rust", "rust,no_run", {"no_run": ""}, None, "Examples", "    let indented = 2;\n"),
        (20, "text", "text", {}, None, "Examples", "output\n")]
    assert [s.index for s in p.snippets] == [1, 2, 3]


def test_each_doc_comment_run_has_its_own_headings():
    p = extract_text("/// # Panics\n///\n/// text\nfn a() {}\n/// ```\n/// b();\n/// ```\nfn b() {}\n", "x.rs")
    assert [(s.line, s.heading, s.code) for s in p.snippets] == [(5, "", "b();\n")]


@pytest.mark.parametrize("docs", [
    "//! Run with:\n//!\n//! ```sh\n//! cargo run --example auth\n//! ```\n",   # doc fences, none of them Rust
    "//! An example without fences.\n",
    "//// ```\n//// not doc\n//// ```\n",
])
def test_a_rust_file_without_rust_doc_tests_is_one_snippet(docs):
    text = docs + "fn main() {}\n"
    p = extract_text(text, "auth.rs")
    assert summary(p) == [(1, "rust", "", {}, None, "", text)]


def test_a_crate_readme_included_as_docs_gives_its_doc_tests(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "README.md").write_text(f"# Client\n\n{F}\nlet a = 1;\n{F}\n\n{F}sh\ncargo add x\n{F}\n", "utf-8")
    lib = tmp_path / "src" / "lib.rs"
    lib.write_text(f'/// {F}\n/// f();\n/// {F}\npub fn f() {{}}\n#![doc = include_str!("../README.md")]\nmod m;\n',
                   "utf-8")
    p = extract_page(lib)
    assert [(s.index, s.line, s.language, s.heading, s.code) for s in p.snippets] == [
        (1, 1, "rust", "", "f();\n"), (2, 3, "rust", "Client", "let a = 1;\n"), (3, 7, "bash", "Client", "cargo add x\n")]
    assert p.notes == [("line 5: snippets #2-#3 are the doc tests of ../README.md (include_str!); "
                       "their line numbers are that file's")]


def test_an_included_doc_file_that_is_missing_or_has_no_rust_is_a_note_and_the_file_one_snippet(tmp_path):
    lib = tmp_path / "lib.rs"
    lib.write_text('#![doc = include_str!("../README.md")]\n#![doc = include_str!("USAGE.md")]\npub fn f() {}\n',
                   "utf-8")
    (tmp_path / "USAGE.md").write_text(f"{F}sh\ncargo run\n{F}\n", "utf-8")
    p = extract_page(lib)
    assert [s.line for s in p.snippets] == [1] and p.snippets[0].code.startswith("#![doc")
    assert len(p.notes) == 1 and p.notes[0].startswith("line 1: include_str!('../README.md') not read: ")
    assert "folder is not known" in extract_text(lib.read_text("utf-8"), "lib.rs").notes[0]


# --- info strings and tabs on Markdown pages --------------------------------------------------------------

@pytest.mark.parametrize("info, language, attrs", [
    ("rust,no_run", "rust", {"no_run": ""}),
    ("no_run", "rust", {"no_run": ""}),
    ("ignore", "rust", {"ignore": ""}),
    ("should_panic", "rust", {"should_panic": ""}),
    ("compile_fail,E0277", "rust", {"compile_fail": "", "E0277": ""}),
    ("edition2021", "rust", {"edition2021": ""}),
    ("ignore-windows", "rust", {"ignore-windows": ""}),
    ("rust,ignore title=x.rs", "rust", {"ignore": "", "title": "x.rs"}),
    ("rust no_run", "rust", {"no_run": ""}),
    ("text,ignore", "text", {"ignore": ""}),
    ("tsx", "tsx", {}),
    ("jsx", "jsx", {}),
    ("h", "h", {}),
    ("edition", "edition", {}),
])
def test_info_strings(info, language, attrs):
    s = extract_text(f"{F}{info}\nx\n{F}\n", "p.md").snippets[0]
    assert (s.language, s.attrs, s.info) == (language, attrs, info)


@pytest.mark.parametrize("words, language", [
    (["ts", "typescript", "TypeScript", "mts", "cts"], "typescript"),
    (["rs", "rust", "Rust"], "rust"),
    (["java", "Java"], "java"),
    (["c", "C"], "c"),
    (["cpp", "c++", "C++", "cxx", "cc", "hpp", "hxx", "hh"], "cpp"),
    (["cs", "csharp", "c#", "C#"], "csharp"),
    (["text", "txt", "plain", "plaintext"], "text"),
    (["yaml", "yml"], "yaml"),
])
def test_new_language_names(words, language):
    assert [normalise_language(w) for w in words] == [language] * len(words)
    p = extract_text("".join(f"{F}{w}\nx\n{F}\n" for w in words), "p.md")
    assert [s.language for s in p.snippets] == [language] * len(words)


def test_tabs_labelled_with_the_new_languages_give_them_to_unlabelled_fences():
    labels = {"TypeScript": "typescript", "Rust": "rust", "Java": "java", "C#": "csharp", "C++": "cpp", "C": "c",
              "Plain text": "text"}
    values = ", ".join(f'{{label: "{label}", value: "v{n}"}}' for n, label in enumerate(labels))
    lines = [f"<Tabs values={{[{values}]}}>"]
    for n in range(len(labels)):
        lines += [f'<TabItem value="v{n}">', "", F, "code", F, "", "</TabItem>"]
    p = extract_text("\n".join([*lines, "</Tabs>"]) + "\n", "tabs.mdx")
    assert [(s.tab, s.language) for s in p.snippets] == list(labels.items())


def test_markdown_pages_keep_their_reason():
    assert extract_text("Prose only.\n", "README").no_snippet_reason == NO_FENCES_REASON


# --- languages.toml and its loader ------------------------------------------------------------------------

def test_the_language_table_loads_and_every_name_is_its_own_alias():
    table = load_languages()
    assert {"typescript", "rust", "java", "c", "cpp", "csharp", "text", "javascript", "go", "python"} <= set(
        table["language"])
    assert all(normalise_language(name) == name for name in table["language"])


@pytest.mark.parametrize("old, new, message", [
    ('aliases = ["java"]', 'aliases = ["java", "c"]', "aliases: 'c' is given to both"),
    ('aliases = ["java"]', 'alias = ["java"]', "language java: unknown keys ['alias']"),
    ('aliases = ["java"]', 'aliases = ["Java"]', "expected lowercase words"),
    ('extensions = ["java"]', 'extensions = ["java", "py"]', "extensions: 'py' is given to both"),
    ('"edition[0-9]{4}"', '"edition[0-9"', "is not a regex"),
])
def test_a_broken_language_table_names_the_file_and_the_problem(tmp_path, old, new, message):
    text = LANGUAGES_FILE.read_text("utf-8")
    assert old in text
    broken = tmp_path / "languages.toml"
    broken.write_text(text.replace(old, new, 1), "utf-8")
    with pytest.raises(LanguagesError) as raised:
        load_languages(broken)
    assert str(raised.value).startswith(f"{broken}: ") and message in str(raised.value)
    assert isinstance(raised.value, DataFileError)


# --- any text at all ----------------------------------------------------------------------------------------

_PIECES = ["", "  ", "\t", "::", ".. code-block:: py", ".. code::", ".. tab:: Go", "..", ".. x", ":caption: c",
           "Title", "=====", "--", "- item::", "//! ```", "/// ```rust", "/// # h", "```", "~~~", "<Tabs>",
           '<TabItem value="go">', "</TabItem>", "x = 1", "\r", ".. literalinclude:: x.py", "   :lines: 2"]


@given(st.lists(st.sampled_from(_PIECES), max_size=30), st.sampled_from(["p.rst", "p.md", "p.rs", "p.py"]))
@settings(max_examples=300, deadline=None)
def test_any_page_is_read_without_error_and_snippet_lines_are_on_the_page(pieces, name):
    text = "\n".join(pieces)
    p = extract_text(text, name)
    assert (p.snippets == []) == (p.no_snippet_reason is not None)
    lines = max(1, len(text.split("\n")))
    assert all(1 <= s.line <= lines for s in p.snippets)
    assert [s.index for s in p.snippets] == list(range(1, len(p.snippets) + 1))
