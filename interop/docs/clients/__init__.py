"""Client snippets, one module per language: install their dependencies the way a reader would, build
them, and give the command that runs them once (common.Prepared)."""

from .common import Prepared, evidence, key_line, output, run
from .go import prepare_go
from .javascript import javascript_dependencies, javascript_older_majors, javascript_replacement, prepare_javascript
from .python import prepare_python, python_distributions, python_older_majors

__all__ = ["Prepared", "evidence", "javascript_dependencies", "javascript_older_majors", "javascript_replacement", "key_line", "output",
           "prepare_go", "prepare_javascript", "prepare_python", "python_distributions", "python_older_majors", "run"]
