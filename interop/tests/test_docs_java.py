"""The docs check's Java snippets (interop/docs/clients/java.py): how a snippet becomes a compilable class,
which artifact its io.questdb names need, the versions read from Maven metadata, and real builds: a
JDK-only excerpt (no Maven), javac's first error as FAILS TO BUILD, an unresolvable pin as FAILS TO
INSTALL, and one questdb-client snippet that authenticates to the stub. The snippets are written for
these tests.

The builds use the local Maven repository (~/.m2/repository, shared with java/pom.xml's build and the
QuestDB launcher); the first run on a machine downloads the dependency plugin, questdb-client 1.0.1 and
the server jar 9.3.4 (the launcher's version) from Maven Central."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from interop.docs.clients.common import run
from interop.docs.clients.java import (
    WRAPPER_CLASS,
    java_artifact,
    java_fallbacks,
    java_older_majors,
    java_source,
    java_truststore,
    java_versions,
    javac_first_error,
    older_majors,
    prepare_java,
)
from interop.paths import AUTH_DB, DEFAULT_JWK
from server_stub import run_stub

CLIENT = "org.questdb:questdb-client"
SERVER = "org.questdb:questdb"


def _code(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# --- java_source --------------------------------------------------------------------------------------------

def test_a_body_excerpt_is_wrapped_below_its_imports_line_for_line():
    code = _code("""
        import java.util.List;
        // class Fake { static void main(String[] a) {} } in a comment is not a declaration
        var names = List.of("class Quoted {}");
        import java.util.Map;
        System.out.println(names + " " + Map.of());
    """)
    name, source = java_source(code)
    assert name == WRAPPER_CLASS
    lines = source.splitlines()
    assert lines[:4] == ["import java.util.List;", "import java.util.Map;", f"public class {WRAPPER_CLASS} {{",
                         "    public static void main(String[] args) throws Exception {"]
    assert lines[4:7] == [line for line in code.splitlines() if not line.startswith("import")]
    assert lines[7:] == ["    }", "}"]


def test_an_excerpt_of_class_members_with_main_goes_into_the_class_itself():
    code = _code("""
        import java.util.List;

        static String greeting() {
            return "hi";
        }

        public static void main(String[] args) {
            System.out.println(List.of(greeting()));
        }
    """)
    name, source = java_source(code)
    lines = source.splitlines()
    assert (name, lines[:2], lines[-1]) == (WRAPPER_CLASS, ["import java.util.List;", f"public class {WRAPPER_CLASS} {{"], "}")
    assert lines[2:-1] == code.splitlines()[1:] and "throws Exception" not in source


def test_a_local_record_among_statements_is_still_an_excerpt():
    code = 'record Row(String name) {}\nSystem.out.println(new Row("a"));\n'
    assert java_source(code)[0] == WRAPPER_CLASS


def test_a_compilation_unit_is_kept_and_its_main_class_qualified_by_the_package():
    code = _code('''
        package docs.example;

        import java.util.List;

        /** Its own comment: "class NotThis" */
        public final class Sends {
            static String text = """
                class InATextBlock {}
                """;

            public static void main(String... args) {
                System.out.println(List.of(text));
            }
        }

        class Helper {
        }
    ''')
    assert java_source(code) == ("docs.example.Sends", code)


def test_the_class_with_main_is_run_even_when_another_class_is_public():
    code = "public class Api {}\nclass Main {\n  public static void main(String[] args) {}\n}\n"
    assert java_source(code) == ("Main", code)


def test_a_compilation_unit_without_main_is_not_a_program():
    with pytest.raises(ValueError, match="without a main method: Api"):
        java_source("public class Api {\n  void send() {}\n}\n")


# --- java_artifact ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "artifact"), [
    ("import io.questdb.client.Sender;\nSender.fromConfig(conf);", CLIENT),
    ("try (io.questdb.client.Sender s = io.questdb.client.Sender.fromConfig(c)) {}", CLIENT),
    ("import io.questdb.cutlass.line.LineTcpSender;\nimport io.questdb.network.Net;", SERVER),
    ("import io.questdb.client.Sender;\nimport io.questdb.std.Os;\n", SERVER),  # server-only wins
    ("import io.questdb.client.Sender;\n// io.questdb.std.Os.currentTimeNanos()\n", CLIENT),  # a comment
    ('String s = "io.questdb.std.Os";', None),  # a string
    ("import java.net.Socket;\nimport java.security.Signature;\n", None),  # JDK only
])
def test_java_artifact_follows_the_names_in_code(code, artifact):
    assert java_artifact(code) == artifact


# --- versions -----------------------------------------------------------------------------------------------

def _metadata(repository: Path, artifact: str, name: str, versions: list[str]) -> None:
    group, artifact_id = artifact.split(":")
    folder = repository.joinpath(*group.split("."), artifact_id)
    folder.mkdir(parents=True, exist_ok=True)
    listed = "".join(f"<version>{v}</version>" for v in versions)
    (folder / name).write_text(f"<metadata><versioning><versions>{listed}</versions></versioning></metadata>")


def test_java_versions_reads_the_plain_releases_of_every_metadata_copy(tmp_path):
    _metadata(tmp_path, SERVER, "maven-metadata-central.xml", ["6.5.5", "6.5.5-jdk8", "7.3.10", "7.3.9", "8.0-SNAPSHOT"])
    _metadata(tmp_path, SERVER, "maven-metadata-mirror.xml", ["9.3.4", "7.3.10"])
    assert java_versions(SERVER, tmp_path, refresh=False) == ["6.5.5", "7.3.9", "7.3.10", "9.3.4"]
    assert java_versions(CLIENT, tmp_path, refresh=False) == []
    assert java_older_majors(SERVER, "9.3.4", tmp_path) == ["7.3.10", "6.5.5"]


def test_the_fallbacks_are_the_older_majors_then_the_predecessors_releases(tmp_path):
    _metadata(tmp_path, CLIENT, "maven-metadata-central.xml", ["1.0.1", "1.2.0", "2.0.0"])
    _metadata(tmp_path, SERVER, "maven-metadata-central.xml", ["6.6.1", "7.3.10", "7.4.2", "8.2.0", "9.3.4"])
    assert java_fallbacks(CLIENT, "2.0.0", tmp_path) == [
        (CLIENT, "1.2.0"), (SERVER, "9.3.4"), (SERVER, "8.2.0"), (SERVER, "7.4.2"), (SERVER, "6.6.1")]
    assert java_fallbacks(SERVER, "9.3.4", tmp_path) == [(SERVER, "8.2.0"), (SERVER, "7.4.2"), (SERVER, "6.6.1")]


def test_older_majors_are_the_newest_of_each_major_below_newest_first():
    versions = ["5.0.6", "6.0.5", "6.6.1", "7.3.10", "7.4.2", "7.3.9", "8.1.4", "8.2.0", "9.0.1", "9.3.4"]
    assert older_majors(versions, "9.3.4") == ["8.2.0", "7.4.2", "6.6.1", "5.0.6"]
    assert older_majors(versions, "7.0.0") == ["6.6.1", "5.0.6"]
    assert older_majors(["1.0.1"], "1.0.1") == []


def test_javac_first_error_names_the_first_error_and_its_symbol():
    output = _code("""
        Snippet.java:4: error: cannot find symbol
                Sender sender = null;
                ^
          symbol:   class Sender
          location: class Snippet
        Snippet.java:9: error: incompatible types: String cannot be converted to int
        2 errors
    """)
    assert javac_first_error(output) == "Snippet.java:4: error: cannot find symbol (class Sender)"
    assert javac_first_error(output.split("\n", 5)[5]).startswith("Snippet.java:9: error: incompatible types")


# --- real builds --------------------------------------------------------------------------------------------

@pytest.mark.timeout(300)
def test_a_jdk_only_excerpt_builds_without_maven_and_runs(tmp_path):
    prepared = prepare_java('import java.util.List;\nSystem.out.println(List.of(args.length, "ok"));\n', tmp_path)
    assert prepared.command == ["java", "-cp", "classes", WRAPPER_CLASS], prepared.evidence
    assert prepared.versions == {} and not (tmp_path / "pom.xml").exists()
    assert any("JDK only" in note for note in prepared.notes)
    done = run(prepared.command, prepared.cwd, 60)
    assert (done.exit_code, done.stdout) == (0, "[0, ok]\n"), done.stderr


@pytest.mark.timeout(300)
def test_a_javac_error_fails_to_build_with_the_first_error_line(tmp_path):
    prepared = prepare_java('int count = "three";\nundefinedCall();\n', tmp_path)
    assert (prepared.command, prepared.verdict) == (None, "FAILS TO BUILD")
    assert prepared.detail == ("javac: Snippet.java:3: error: incompatible types: "
                               "String cannot be converted to int"), prepared.evidence
    assert prepared.evidence.startswith("$ javac ") and "undefinedCall" in prepared.evidence


@pytest.mark.timeout(300)
def test_an_unresolvable_pin_fails_to_install_naming_the_artifact(tmp_path):
    code = "import io.questdb.client.Sender;\nSystem.out.println(Sender.class);\n"
    prepared = prepare_java(code, tmp_path, pins={CLIENT: "0.0.404"})
    assert (prepared.command, prepared.verdict) == (None, "FAILS TO INSTALL")
    assert prepared.detail.startswith(f"mvn build-classpath {CLIENT}:0.0.404: ")
    assert f"{CLIENT}:jar:0.0.404" in prepared.detail and "build-classpath" in prepared.evidence.splitlines()[0]


@pytest.mark.timeout(600)
def test_a_client_snippet_builds_with_the_newest_client_and_authenticates_to_the_stub(tmp_path):
    key = json.loads(DEFAULT_JWK.read_text())
    with run_stub(AUTH_DB) as stub:
        code = _code(f"""
            import io.questdb.client.Sender;

            try (Sender sender = Sender.fromConfig("tcp::addr={stub.host}:{stub.port};username={key['kid']};token={key['d']};")) {{
                sender.table("docs_java").symbol("source", "test").longColumn("count", 42).atNow();
            }}
        """)
        prepared = prepare_java(code, tmp_path / "client")
        assert prepared.command, f"{prepared.verdict}: {prepared.detail}\n{prepared.evidence}"
        assert prepared.command[-1] == WRAPPER_CLASS and CLIENT in prepared.versions
        assert prepared.versions[CLIENT] == java_versions(CLIENT, refresh=False)[-1]  # the newest in the metadata
        done = run(prepared.command, prepared.cwd, 60, prepared.env)
        assert done.exit_code == 0, done.stderr
        stub.wait_for_closed(1)
        auth = stub.events("auth")
        rows = stub.events("row")
    assert [(a["kid"], a["accepted"], a["encoding"]) for a in auth] == [(key["kid"], True, "der")]
    assert [(r["table"], r["columns"]["count"]["value"]) for r in rows] == [("docs_java", 42)]


@pytest.mark.timeout(600)
def test_a_pin_of_the_predecessor_builds_with_the_server_jar(tmp_path):
    """9.x server jars no longer hold io.questdb.client: the pin is honoured, and javac says so."""
    code = "import io.questdb.client.Sender;\nSystem.out.println(Sender.class);\n"
    prepared = prepare_java(code, tmp_path, pins={SERVER: "9.3.4"})
    assert prepared.versions == {SERVER: "9.3.4"} and prepared.verdict == "FAILS TO BUILD"
    assert prepared.detail == "javac: Snippet.java:1: error: package io.questdb.client does not exist"
    assert "questdb-9.3.4.jar" in prepared.evidence.splitlines()[0]


@pytest.mark.timeout(600)
def test_a_tcps_client_snippet_trusts_the_stubs_ca_through_a_truststore(tmp_path):
    key = json.loads(DEFAULT_JWK.read_text())
    with run_stub(AUTH_DB, tls=True, tls_dir=str(tmp_path / "tls")) as stub:
        store, password = java_truststore(stub.tls_ca, tmp_path / "store")
        conf = (f"tcps::addr=localhost:{stub.port};tls_roots={store};tls_roots_password={password};"
                f"username={key['kid']};token={key['d']};")
        code = f'import io.questdb.client.Sender;\ntry (Sender s = Sender.fromConfig("{conf}")) {{\n' \
               '    s.table("docs_java_tls").longColumn("n", 1).atNow();\n}\n'
        prepared = prepare_java(code, tmp_path / "client")
        assert prepared.command, f"{prepared.verdict}: {prepared.detail}\n{prepared.evidence}"
        done = run(prepared.command, prepared.cwd, 60)
        assert done.exit_code == 0, done.stderr
        stub.wait_for_closed(1)
        auth, rows = stub.events("auth"), stub.events("row")
    assert [(a["kid"], a["accepted"]) for a in auth] == [(key["kid"], True)]
    assert [r["table"] for r in rows] == ["docs_java_tls"]
