"""The page formats the docs check reads, one module each; interop/docs/extract.py picks one by file name.

model.py     Snippet, Page, content_digest and the no-snippet reasons every format shares.
languages.py the language names (languages.toml): info-string words, tab labels, file extensions, rustdoc words.
markdown.py  Markdown and MDX: fenced blocks, Docusaurus Tabs, ATX/setext headings, scraped-page detection.
rst.py       reStructuredText: code-block/code/sourcecode/code-tab directives, `::` literal blocks, section titles.
rst_include.py  Sphinx's literalinclude: the code of a file beside the page, its selection options applied.
source.py    a source file given directly: one snippet, or a Rust file's doc-test fences.
"""
