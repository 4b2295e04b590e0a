"""The smallest fixes (interop/docs/fixes.py, fixes.toml): each rule on a snippet written here, and a
page whose Node snippet lacks an import: its first verdict fails, the labelled fixed attempt passes."""

from __future__ import annotations

import pytest

from interop.docs.fixes import minimal_fix
from interop.tests.test_docs_clients import GOOD_JS, _docs, _page

GO = 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n\tfmt.Println(time.Now())\n}\n'


def test_an_unused_go_import_is_dropped():
    fixed, what = minimal_fix("go", GO, './main.go:5:2: "os" imported and not used')
    assert '"os"' not in fixed and '"fmt"' in fixed
    assert what == 'removed the unused import "os"'


def test_a_single_line_go_import_is_dropped_too():
    code = 'package main\n\nimport "os"\nimport "fmt"\n\nfunc main() { fmt.Println(1) }\n'
    fixed, _ = minimal_fix("go", code, '"os" imported and not used')
    assert 'import "os"' not in fixed and 'import "fmt"' in fixed


def test_a_missing_go_import_is_added():
    fixed, what = minimal_fix("go", GO, "./main.go:9:14: undefined: time")
    assert '\t"time"' in fixed
    assert what == 'added the missing import "time"'


def test_a_python_name_error_gets_its_import():
    fixed, _ = minimal_fix("python", "print(time.time())\n", "NameError: name 'time' is not defined")
    assert fixed.startswith("import time\n")
    fixed, _ = minimal_fix("python", "Sender.from_conf('x')\n", "NameError: name 'Sender' is not defined")
    assert fixed.startswith("from questdb.ingress import Sender\n")


def test_javascript_gets_the_import_form_of_its_module_system():
    esm = 'import crypto from "node:crypto"\nnet.connect(9009)\n'
    cjs = 'const crypto = require("crypto")\nnet.connect(9009)\n'
    assert minimal_fix("javascript", esm, "ReferenceError: net is not defined")[0].startswith('import net from "node:net";')
    assert minimal_fix("javascript", cjs, "ReferenceError: net is not defined")[0].startswith(
        'const net = require("node:net");')


def test_no_rule_no_fix():
    assert minimal_fix("python", "x\n", "NameError: name 'unknown_thing' is not defined") is None
    assert minimal_fix("python", "x\n", "ConnectionRefusedError") is None
    assert minimal_fix("rust", "x\n", '"os" imported and not used') is None


NODE_WITHOUT_NET = GOOD_JS.replace('const net = require("net")\n', "")  # the raw client, its import dropped


@pytest.mark.timeout(300)
def test_a_snippet_missing_an_import_fails_and_its_fixed_attempt_passes(tmp_path):
    page = _page(tmp_path, [("javascript", "", NODE_WITHOUT_NET)])
    proc = _docs(tmp_path, page, "--budget", "1", "--no-faults")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr  # the page as written is broken: no expectation, so it fails
    assert "ReferenceError: net is not defined" in out
    fixed = [line for line in out.splitlines() if "| fixed " in line or " fixed " in line and "PASS" in line]
    assert any("PASS" in line for line in fixed), out
    assert 'added the missing import of net' in out
    assert out.rstrip().endswith("docs: 1 passed, 1 failed, 0 skipped")


def test_a_java_excerpt_missing_its_client_import_gets_it():
    error = "Snippet.java:3: error: cannot find symbol\n  symbol:   class Sender\n  location: class Snippet"
    fixed, what = minimal_fix("java", 'try (Sender s = Sender.fromConfig("tcp::addr=h:1;")) {}\n', error)
    assert fixed.startswith("import io.questdb.client.Sender;\n")
    assert what == "added the missing import of Sender"
