"""config_rules.toml kept true by measurement: the real Python (questdb, PyPI), Node
(@questdb/nodejs-client, npm), Go (go-questdb-client/v4) and Java (org.questdb:questdb-client, Maven
Central) clients read a corpus of config strings written here, and the rules must predict each client's
accept or refuse (and, for Node, whose messages are quoted verbatim, its words).

The clients are installed at the versions the data file names, once, under build/config-rules/ (a venv,
an npm folder, a Go module and the Java jars, kept between runs). A string a client accepts ends in its
failure to connect to a closed port, anything else is the client refusing it: Python
Sender.from_conf(...).establish() (the auth checks run in establish(), before connecting), Go
LineSenderFromConf, Java Sender.fromConfig; Node's Sender.fromConfig never connects. Every command runs
with a timeout; an unreachable registry fails with a message saying so. The Rust client (questdb-rs) was
measured by hand (config_rules.toml says how): its build takes minutes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from interop.docs.checks.config_string import parse_config
from interop.docs.data import config_rules
from interop.paths import DEFAULT_BUILD_DIR
from interop.process import run

BUILD = Path(os.environ.get("ILP_BUILD_DIR", DEFAULT_BUILD_DIR)) / "config-rules"
INSTALL_TIMEOUT = 600
PROBE_TIMEOUT = 120
CLOSED = "127.0.0.1:1"  # nothing listens on port 1: an accepted string fails to connect, nothing more
D = "5UjEMuA0Pj5pjK8a-fa24dyIf-Es5mYny3oE_Wmus48"
X = "fLKYEaoEb9lrn3nkwLDA-M_xnuFOdSt9y0Z7_vWSHLU"
Y = "Dt5tbS1dEDMSYfym3fgMv0B99szno-dFc1rYF9t0aac"
FULL = f"username=k1;token={D};token_x={X};token_y={Y};"

CORPUS = [
    f"tcp::addr={CLOSED};",
    f"tcp::addr={CLOSED}",  # no trailing ';'
    f"tcps::addr={CLOSED};",
    f"tcp::addr={CLOSED};{FULL}",
    f"tcp::addr={CLOSED};username=k1;token={D};",  # no token_x/token_y
    f"tcp::addr={CLOSED};username=k1;",
    f"tcp::addr={CLOSED};token={D};",
    f"tcp::addr={CLOSED};username=k1;password=secret;",
    f"tcp::addr={CLOSED};colour=blue;",  # unknown key
    f"tcp::addr={CLOSED};Username=k1;",  # keys are case-sensitive
    f"tcp::addr={CLOSED};addr={CLOSED};",  # duplicate
    f"tcp::addr={CLOSED};{FULL}username=k2;",
    f"tcp::addr={CLOSED}; username=k1;token={D};",  # a space before a key
    f"tcp:: addr={CLOSED};",
    f"tcp::addr= {CLOSED};",  # a space inside a value
    f"tcp::addr={CLOSED};username=a;;b;token={D};token_x={X};token_y={Y};",  # ';;' escaping
    f"tcp::addr={CLOSED};username=;",  # empty value
    f"tcp::addr={CLOSED};novalue;",
    f"tcp::addr={CLOSED};a-b=1;",
    f"tcp::addr={CLOSED};_x=1;",
    "tcp::",
    "tcp::addr=;",
    f"TCP::addr={CLOSED};",
    f"tcp::addr={CLOSED};protocol_version=2;",
    f"tcp::addr={CLOSED};auto_flush=off;",
    f"tcp::addr={CLOSED};auto_flush_rows=100;",
    f"tcp::addr={CLOSED};init_buf_size=65536;max_name_len=127;",
    f"tcp::addr={CLOSED};request_timeout=1000;",
    f"tcp::addr={CLOSED};retry_timeout=1000;",
    f"tcp::addr={CLOSED};auth_timeout=1000;",
    f"tcp::addr={CLOSED};tls_verify=unsafe_off;",
    f"tcps::addr={CLOSED};tls_verify=unsafe_off;",
    f"tcp::addr={CLOSED};tls_roots=/nonexistent/ca.pem;",
    f"tcp::addr={CLOSED};token_x=token_x={X};",  # the key repeated inside its own value
    f"tcp::addr={CLOSED};username=k1;token={D};token_x=token_x={X};token_y={Y};",
    f"tcp::addr={CLOSED};colour=bl\x01ue;",  # a control character
    # values: the choices and the integers each client takes
    f"tcp::addr={CLOSED};protocol_version=4;",
    f"tcp::addr={CLOSED};protocol_version=abc;",
    f"tcp::addr={CLOSED};protocol_version=auto;",
    f"tcps::addr={CLOSED};tls_verify=yes;",
    f"tcp::addr={CLOSED};auto_flush=maybe;",
    f"tcp::addr={CLOSED};auto_flush=on;",
    f"tcp::addr={CLOSED};init_buf_size=big;",
    f"tcp::addr={CLOSED};max_name_len=abc;",
    f"tcp::addr={CLOSED};auto_flush_rows=abc;",
    f"tcp::addr={CLOSED};auto_flush_rows=off;",
    f"tcp::addr={CLOSED};auto_flush_interval=off;",
    f"tcp::addr={CLOSED};max_buf_size=1k;",
    f"tcp::addr={CLOSED};auth_timeout=soon;",
    f"tcp::addr={CLOSED};init_buf_size= 1024;",
]

PYTHON_PROBE = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from questdb.ingress import Sender
out = []
for conf in json.load(open(sys.argv[1])):
    sender = None
    try:
        sender = Sender.from_conf(conf)
        sender.establish()
        out.append([True, "connected"])
    except Exception as error:  # the client's own error is the measurement
        text = str(error)
        out.append([text.startswith(("Could not connect", "Could not resolve")), text])
    finally:
        if sender is not None:
            try:
                sender.close()
            except Exception:
                pass
print(json.dumps(out))
"""

NODE_PROBE = r"""
const { Sender } = require("@questdb/nodejs-client");
const cases = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
(async () => {
  const out = [];
  for (const conf of cases) {
    try {
      const sender = await Sender.fromConfig(conf);
      out.push([true, "accepted"]);
      await sender.close().catch(() => {});
    } catch (error) {
      out.push([false, error.message]);
    }
  }
  console.log(JSON.stringify(out));
})();
"""


GO_PROBE = r"""
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	qdb "github.com/questdb/go-questdb-client/v4"
)

func main() {
	data, _ := os.ReadFile(os.Args[1])
	var cases []string
	if err := json.Unmarshal(data, &cases); err != nil {
		panic(err)
	}
	out := [][]interface{}{}
	for _, conf := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		sender, err := qdb.LineSenderFromConf(ctx, conf)
		cancel()
		if err == nil {
			sender.Close(context.Background())
			out = append(out, []interface{}{true, "connected"})
			continue
		}
		out = append(out, []interface{}{strings.HasPrefix(err.Error(), "failed to connect to server"), err.Error()})
	}
	encoded, _ := json.Marshal(out)
	fmt.Println(string(encoded))
}
"""

# Java reads one string per line, every character outside printable ASCII (and '\\') written as \\uXXXX.
JAVA_PROBE = r"""
import io.questdb.client.Sender;
import java.nio.file.Files;
import java.nio.file.Paths;

public class Probe {
    public static void main(String[] args) throws Exception {
        StringBuilder out = new StringBuilder("[");
        for (String line : Files.readAllLines(Paths.get(args[0]))) {
            StringBuilder conf = new StringBuilder();
            for (int i = 0; i < line.length(); i++) {
                if (line.charAt(i) == '\\' && i + 5 < line.length() && line.charAt(i + 1) == 'u') {
                    conf.append((char) Integer.parseInt(line.substring(i + 2, i + 6), 16));
                    i += 5;
                } else {
                    conf.append(line.charAt(i));
                }
            }
            boolean accepted;
            String said;
            try (Sender sender = Sender.fromConfig(conf.toString())) {
                accepted = true;
                said = "connected";
            } catch (Throwable error) {
                said = String.valueOf(error.getMessage());
                accepted = said.contains("could not connect") || said.contains("could not resolve");
            }
            out.append(out.length() > 1 ? "," : "").append("[").append(accepted).append(",\"")
               .append(said.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ")).append("\"]");
        }
        System.out.println(out.append("]"));
    }
}
"""
JAVA_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"  # as docs/dependencies.toml pins it
SLF4J = "org.slf4j:slf4j-api:2.0.17"  # the one runtime dependency questdb-client 1.0.1's pom names


def _registry_failure(what: str, finished) -> str:
    return (f"could not install {what} (is the registry reachable from here?); the measured rules cannot be "
            f"checked without it\n{finished.describe()}")


@pytest.fixture(scope="module")
def corpus_file() -> Path:
    BUILD.mkdir(parents=True, exist_ok=True)
    path = BUILD / "corpus.json"
    path.write_text(json.dumps(CORPUS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def python_client() -> Path:
    version = config_rules()["python"]["version"]
    venv = BUILD / f"python-questdb-{version}"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        BUILD.mkdir(parents=True, exist_ok=True)
        made = run([sys.executable, "-m", "venv", str(venv)], BUILD, 120)
        assert made.ok, made.describe()
        done = run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    f"questdb=={version}"], BUILD, INSTALL_TIMEOUT)
        if not done.ok:
            pytest.fail(_registry_failure(f"questdb=={version} from PyPI", done))
        (venv / ".installed").write_text(version)
    return python


@pytest.fixture(scope="module")
def node_client() -> Path:
    version = config_rules()["node"]["version"]
    folder = BUILD / f"node-client-{version}"
    if not (folder / ".installed").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"name": "config-rules-probe", "private": true}\n')
        done = run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts",
                    f"@questdb/nodejs-client@{version}"], folder, INSTALL_TIMEOUT)
        if not done.ok:
            pytest.fail(_registry_failure(f"@questdb/nodejs-client@{version} from npm", done))
        (folder / ".installed").write_text(version)
    return folder


def _measure(cmd: list[str], cwd: Path) -> list[tuple[bool, str]]:
    finished = run(cmd, cwd, PROBE_TIMEOUT)
    assert finished.ok, finished.describe()
    results = json.loads(finished.stdout.strip().splitlines()[-1])
    assert len(results) == len(CORPUS), finished.describe()
    return [tuple(result) for result in results]


def _mismatches(client: str, measured: list[tuple[bool, str]]) -> list[str]:
    wrong = []
    for conf, (accepted, said) in zip(CORPUS, measured):
        predicted = parse_config(conf, client)
        if predicted.accepted != accepted:
            wrong.append(f"{conf!r}: the client {'accepts' if accepted else 'refuses'} it ({said}); the rules say "
                         f"{'accepted' if predicted.accepted else 'refused: ' + '; '.join(predicted.problems)}")
    return wrong


def test_python_rules_predict_the_python_client(python_client: Path, corpus_file: Path):
    measured = _measure([str(python_client), "-c", PYTHON_PROBE, str(corpus_file)], BUILD)
    assert sum(accepted for accepted, _ in measured) >= 5, measured  # the probe reached the connection at all
    wrong = _mismatches("python", measured)
    assert not wrong, "config_rules.toml [client.python] disagrees with the client:\n" + "\n".join(wrong)


def test_node_rules_predict_the_node_client_and_its_words(node_client: Path, corpus_file: Path):
    probe = node_client / "probe.cjs"
    probe.write_text(NODE_PROBE, encoding="utf-8")
    measured = _measure(["node", str(probe), str(corpus_file)], node_client)
    wrong = _mismatches("node", measured)
    for conf, (accepted, said) in zip(CORPUS, measured):
        problems = parse_config(conf, "node").problems
        if not accepted and problems and not any(said in problem for problem in problems):
            wrong.append(f"{conf!r}: the client says {said!r}; the rules say {problems}")
    assert not wrong, "config_rules.toml [client.node] disagrees with the client:\n" + "\n".join(wrong)


@pytest.fixture(scope="module")
def go_client() -> Path:
    version = config_rules()["go"]["version"]
    folder = BUILD / f"go-client-{version}"
    if not (folder / ".installed").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "main.go").write_text(GO_PROBE, encoding="utf-8")
        env = dict(os.environ, GOFLAGS="-mod=mod")
        if not (folder / "go.mod").exists():
            made = run(["go", "mod", "init", "confprobe"], folder, 60, env)
            assert made.ok, made.describe()
        got = run(["go", "get", f"github.com/questdb/go-questdb-client/v4@{version}"], folder, INSTALL_TIMEOUT, env)
        if not got.ok:
            pytest.fail(_registry_failure(f"github.com/questdb/go-questdb-client/v4@{version} (Go module proxy)", got))
        built = run(["go", "build", "-o", "probe", "."], folder, INSTALL_TIMEOUT, env)
        assert built.ok, built.describe()
        (folder / ".installed").write_text(version)
    return folder / "probe"


@pytest.fixture(scope="module")
def java_client() -> Path:
    version = config_rules()["java"]["version"]
    folder = BUILD / f"java-client-{version}"
    if not (folder / ".installed").exists():
        (folder / "lib").mkdir(parents=True, exist_ok=True)
        for artifact in (f"org.questdb:questdb-client:{version}", SLF4J):
            copied = run(["mvn", "-B", "-q", f"{JAVA_DEPENDENCY_PLUGIN}:copy", f"-Dartifact={artifact}",
                          "-DoutputDirectory=lib"], folder, INSTALL_TIMEOUT)
            if not copied.ok:
                pytest.fail(_registry_failure(f"{artifact} from Maven Central", copied))
        (folder / "Probe.java").write_text(JAVA_PROBE, encoding="utf-8")
        compiled = run(["javac", "-cp", "lib/*", "Probe.java"], folder, INSTALL_TIMEOUT)
        assert compiled.ok, compiled.describe()
        (folder / ".installed").write_text(version)
    return folder


def test_go_rules_predict_the_go_client(go_client: Path, corpus_file: Path):
    measured = _measure([str(go_client), str(corpus_file)], go_client.parent)
    wrong = _mismatches("go", measured)
    assert not wrong, "config_rules.toml [client.go] disagrees with the client:\n" + "\n".join(wrong)


def test_java_rules_predict_the_java_client(java_client: Path):
    lines = ["".join(c if 32 <= ord(c) < 127 and c != "\\" else f"\\u{ord(c):04x}" for c in conf) for conf in CORPUS]
    corpus = java_client / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="ascii")
    measured = _measure(["java", "-cp", "lib/*:.", "Probe", str(corpus)], java_client)
    wrong = _mismatches("java", measured)
    assert not wrong, "config_rules.toml [client.java] disagrees with the client:\n" + "\n".join(wrong)
