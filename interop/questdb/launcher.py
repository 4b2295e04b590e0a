"""The real QuestDB server as a subprocess, shaped like the stub's wrapper (interop/stubproc.py).

    with QuestDBProcess(auth_db, log_dir) as qdb:
        ...  # ILP/TCP on (qdb.host, qdb.ilp_port), SQL over HTTP on qdb.http_port
        result = qdb.wait_for_rows("trades", 3)

The server is the open-source org.questdb:questdb jar from Maven Central, at the version pinned in
questdb.toml, taken from the local Maven repository (`mvn dependency:get` fetches it the first time).
Each start gets a fresh temporary root directory (removed on stop) with its own server.conf: ILP/TCP
and HTTP on free loopback ports, PostgreSQL wire, the HTTP min server, ILP over HTTP and telemetry off.
The server's stdout/stderr, its server.conf and its root's log/ (if any) are kept in `log_dir`.

    python -m interop.questdb.launcher            start it with the project's auth file, until Ctrl-C
    python -m interop.questdb.launcher --newest   the newest 9.x on Maven Central (see questdb.toml)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from functools import cache
from pathlib import Path

from ..datafile import Key, Table, load_toml
from ..paths import AUTH_DB, QUESTDB_CONFIG
from ..process import run

M2_REPOSITORY = Path.home() / ".m2" / "repository"
ARTIFACT_DIR = M2_REPOSITORY / "org" / "questdb" / "questdb"
MAIN_MODULE = "io.questdb/io.questdb.ServerMain"
HOST = "127.0.0.1"

MVN_TIMEOUT = 600.0
STOP_TIMEOUT = 30.0
QUERY_TIMEOUT = 10.0
POLL_INTERVAL = 0.1
SETTLED_AFTER = 1.5  # counts unchanged this long: ingestion has caught up
SETTLE_TIMEOUT = 15.0  # how long QuestDB may take to make ingested rows visible
BIND_ATTEMPTS = 3  # free ports are picked before the JVM binds them: another process may win the race
CLEAN_EXIT_CODES = (0, 128 + signal.SIGTERM)  # the JVM exits 143 after QuestDB's shutdown hook on SIGTERM

# Written to ROOT/conf/server.conf. Keys checked against 9.3.4: the jar's embedded default server.conf
# (io/questdb/site/conf/server.conf) and the property names in io/questdb/PropertyKey.class.
BASE_CONF = {
    "pg.enabled": "false",
    "http.min.enabled": "false",
    "line.http.enabled": "false",
    "line.udp.enabled": "false",
    "telemetry.enabled": "false",
    # ILP rows become visible on a timer; the defaults are 2000 ms and 1000 ms.
    "line.tcp.commit.interval.default": "200",
    "line.tcp.maintenance.job.interval": "200",
}


class QuestDBError(RuntimeError):
    pass


class QueryError(QuestDBError):
    """The server refused a query; str() is the server's own error text."""

    def __init__(self, text: str, sql: str, position: int | None = None):
        super().__init__(text)
        self.text, self.sql, self.position = text, sql, position


CONFIG = Table({
    "version": Key(str),  # the org.questdb:questdb version run
    "java_options": Key(list, []),  # JVM options before -p questdb.jar -m ...
})


@cache
def pinned(path: Path = QUESTDB_CONFIG) -> dict:
    """questdb.toml, checked."""
    return load_toml(path, CONFIG)


def ensure_jar(version: str | None = None) -> Path:
    """The server jar in the local Maven repository, fetched with `mvn dependency:get` when absent."""
    version = version or pinned()["version"]
    jar = ARTIFACT_DIR / version / f"questdb-{version}.jar"
    if jar.is_file():
        return jar
    _mvn_get(version, update=False)
    if not jar.is_file():
        raise QuestDBError(f"mvn dependency:get succeeded but {jar} is missing")
    return jar


def newest_version(major: int = 9) -> str:
    """The highest plain `major.x.y` version of org.questdb:questdb on Maven Central (see questdb.toml)."""
    _mvn_get("LATEST", update=True)
    versions = []
    for metadata in ARTIFACT_DIR.glob("maven-metadata-*.xml"):
        versions += re.findall(r"<version>\s*([0-9][0-9.]*)\s*</version>", metadata.read_text("utf-8"))
    candidates = [tuple(map(int, v.split("."))) for v in versions if re.fullmatch(rf"{major}(\.\d+)+", v)]
    if not candidates:
        raise QuestDBError(f"no {major}.x version of org.questdb:questdb in {ARTIFACT_DIR}/maven-metadata-*.xml")
    return ".".join(map(str, max(candidates)))


def _mvn_get(version: str, update: bool) -> None:
    mvn = _tool("mvn", "Maven 3, to fetch org.questdb:questdb from Maven Central")
    artifact = f"org.questdb:questdb:{version}"
    cmd = [mvn, "-B", "-q", "-Dstyle.color=never", *(["-U"] if update else []), f"-Dmaven.repo.local={M2_REPOSITORY}",
           "dependency:get", f"-Dartifact={artifact}", "-Dtransitive=false"]
    # outside any project: a pom.xml in the working directory would be read
    done = run(cmd, tempfile.gettempdir(), MVN_TIMEOUT)
    if done.exit_code is None:
        raise QuestDBError(f"`mvn dependency:get -Dartifact={artifact}` did not finish within {MVN_TIMEOUT:.0f} s "
                           f"(is Maven Central reachable?)")
    if not done.ok:
        raise QuestDBError(f"cannot fetch {artifact} with Maven (Maven Central unreachable, or no such version): "
                           f"{_mvn_error(done.stdout + done.stderr)}")


def _mvn_error(output: str) -> str:
    """Maven's first [ERROR] line, without colour codes or the help link: one line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", output)
    for line in text.splitlines():
        if line.startswith("[ERROR]") and line[7:].strip():
            return re.sub(r"\s*-> \[Help \d+\]$", "", line[7:].strip())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "mvn printed nothing"


def _tool(name: str, why: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise QuestDBError(f"`{name}` not found on PATH: the QuestDB launcher needs {why}")
    return path


def jar_version(jar: Path) -> str | None:
    """Implementation-Version from the jar's manifest (9.3.4 writes it)."""
    try:
        with zipfile.ZipFile(jar) as archive:
            manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    found = re.search(r"^Implementation-Version:\s*(\S+)", manifest, re.MULTILINE)
    return found.group(1) if found else None


class QuestDBProcess:
    """Start with `with QuestDBProcess(auth_db, log_dir) as qdb:`; the server is stopped after the block."""

    def __init__(self, auth_db: Path, log_dir: Path, jar: Path | None = None, startup_timeout: float = 120,
                 extra_conf: dict[str, str] | None = None):
        self.auth_db = Path(auth_db).resolve()
        self.log_dir = Path(log_dir).resolve()
        self.jar = Path(jar) if jar is not None else None
        self.startup_timeout = startup_timeout
        self.extra_conf = dict(extra_conf or {})
        self.host = HOST
        self.ilp_port: int | None = None
        self.http_port: int | None = None
        self.version: str | None = None
        self.cmd: list[str] = []
        self.root: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.startup_seconds: float | None = None  # from spawning the JVM to the first answer over HTTP
        self.stdout_path = self.log_dir / "questdb.stdout.log"
        self.stderr_path = self.log_dir / "questdb.stderr.log"
        self._files: list = []

    def __enter__(self) -> QuestDBProcess:  # noqa: PYI034 (self, started)
        self.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.stop(check=exc_type is None)

    def start(self) -> None:
        java = _tool("java", "a Java 17+ runtime to run the QuestDB server")
        if self.jar is None:
            self.jar = ensure_jar()
        if not self.jar.is_file():
            raise QuestDBError(f"QuestDB jar not found: {self.jar}")
        self.version = jar_version(self.jar) or pinned()["version"]
        if not self.auth_db.is_file():
            raise QuestDBError(f"auth file not found: {self.auth_db}")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, BIND_ATTEMPTS + 1):
            try:
                self._spawn(java)
                self._wait_until_ready()
                return
            except _PortTaken:
                self._cleanup()
                if attempt == BIND_ATTEMPTS:
                    raise QuestDBError(f"QuestDB could not bind its ports {BIND_ATTEMPTS} times; "
                                       f"logs in {self.log_dir}") from None
            except BaseException:
                self.stop(check=False)
                raise

    def _spawn(self, java: str) -> None:
        self.ilp_port, self.http_port = _free_ports(2)
        self.root = Path(tempfile.mkdtemp(prefix="questdb-root-"))
        conf_dir = self.root / "conf"
        conf_dir.mkdir()
        # QuestDB resolves line.tcp.auth.db.path against its root directory, even an absolute path
        # (`-d /r` + `/work/x/auth.txt` reads /r/work/x/auth.txt), so the server gets a byte-for-byte copy.
        shutil.copyfile(self.auth_db, conf_dir / "auth.txt")
        conf = {
            "line.tcp.auth.db.path": "conf/auth.txt",
            "line.tcp.net.bind.to": f"{self.host}:{self.ilp_port}",
            "http.net.bind.to": f"{self.host}:{self.http_port}",
            **BASE_CONF,
            **self.extra_conf,
        }
        lines = ["# written by interop/questdb/launcher.py", f"# auth file: copy of {self.auth_db}"]
        (conf_dir / "server.conf").write_text("\n".join(lines + [f"{k}={v}" for k, v in conf.items()]) + "\n")
        self.cmd = [java, *pinned()["java_options"], f"-XX:ErrorFile={self.log_dir}/hs_err_pid%p.log",
                    "-p", str(self.jar), "-m", MAIN_MODULE, "-d", str(self.root)]
        # QDB_* environment variables override server.conf keys: keep the configuration in one place.
        env = {k: v for k, v in os.environ.items() if not k.startswith("QDB_")}
        out, err = open(self.stdout_path, "wb"), open(self.stderr_path, "wb")  # noqa: SIM115 (closed in _cleanup)
        self._files = [out, err]
        self._started_at = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                     start_new_session=True)

    def _wait_until_ready(self) -> None:
        deadline = self._started_at + self.startup_timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                stderr = self.stderr_path.read_text("utf-8", "replace")
                if "could not bind socket" in stderr:
                    raise _PortTaken
                copy = f" (conf/auth.txt: the server's copy of {self.auth_db})" if "auth db" in stderr else ""
                raise QuestDBError(f"QuestDB exited with code {code} during startup: {_java_error(stderr)}{copy} "
                                   f"(logs in {self.log_dir})")
            try:
                if self.query("select 1").get("dataset") == [[1]]:
                    self.startup_seconds = time.monotonic() - self._started_at
                    return
            except QuestDBError:
                pass
            time.sleep(POLL_INTERVAL)
        raise QuestDBError(f"QuestDB did not answer on http://{self.host}:{self.http_port}/exec within "
                           f"{self.startup_timeout:.0f} s (logs in {self.log_dir})")

    def stop(self, check: bool = True) -> None:
        """SIGTERM, wait, SIGKILL after STOP_TIMEOUT. With check, an unclean exit raises QuestDBError."""
        if self.proc is None:
            self._cleanup()
            return
        problem = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problem = f"QuestDB did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM and was killed"
        if problem is None and self.proc.returncode not in CLEAN_EXIT_CODES:
            problem = f"QuestDB exited with code {self.proc.returncode}"
        self._cleanup()
        if problem and check:
            raise QuestDBError(f"{problem} (logs in {self.log_dir})")

    def _cleanup(self) -> None:
        """After the process is gone: close the logs, keep the root's conf/log, remove the root."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for handle in self._files:
            handle.close()
        self._files = []
        if self.root is not None:
            if (self.root / "conf" / "server.conf").is_file():
                shutil.copyfile(self.root / "conf" / "server.conf", self.log_dir / "server.conf")
            if (self.root / "log").is_dir():
                shutil.copytree(self.root / "log", self.log_dir / "log", dirs_exist_ok=True)
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        self.proc = None

    def log_text(self) -> str:
        """The server's log so far (QuestDB logs to stdout with the log.conf it extracts)."""
        return self.stdout_path.read_text("utf-8", "replace")

    def query(self, sql: str) -> dict:
        """One SQL statement over HTTP /exec: {"columns": [{"name", "type"}], "dataset": [[...]], "count": N}."""
        url = f"http://{self.host}:{self.http_port}/exec?" + urllib.parse.urlencode({"query": sql})
        try:
            with urllib.request.urlopen(url, timeout=QUERY_TIMEOUT) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                answer = json.loads(body, strict=False)  # QuestDB writes control characters in strings unescaped
            except ValueError:
                raise QuestDBError(f"HTTP {error.code} from QuestDB for {sql!r}: {body[:200]!r}") from None
            raise QueryError(answer.get("error", f"HTTP {error.code}"), sql, answer.get("position")) from None
        except (urllib.error.URLError, OSError) as error:
            raise QuestDBError(f"QuestDB HTTP endpoint {self.host}:{self.http_port} unreachable: {error}") from None
        answer = json.loads(body, strict=False)  # QuestDB writes control characters in strings unescaped
        if "error" in answer:
            raise QueryError(answer["error"], sql, answer.get("position"))
        return answer

    def counts(self, table: str, by: str | None = None) -> dict:
        """{table: rows} (0 for a table that does not exist yet), or with `by` {value: rows} per value of
        that column."""
        quoted = "'{}'".format(table.replace("'", "''"))
        try:
            if by is None:
                return {table: self.query(f"select count() from {quoted}")["dataset"][0][0]}
            return dict(self.query(f'select "{by}", count() from {quoted}')["dataset"])
        except QueryError as error:
            if "table does not exist" not in error.text:
                raise
            return {table: 0} if by is None else {}

    def wait_for_counts(self, tables: list[str], by: str | None = None, at_least: int | None = None,
                        timeout: float = SETTLE_TIMEOUT, interval: float = POLL_INTERVAL) -> dict:
        """The counts of `tables` (as `counts`, merged) once every one has reached `at_least`, or without
        `at_least` once they have not changed for SETTLED_AFTER seconds; at the deadline, the last ones.

        ILP rows become visible asynchronously (commit timer, then the WAL apply job), so a count read
        once may be short: this is the one place that waits for them.
        """
        deadline = time.monotonic() + timeout
        previous, unchanged_since = None, time.monotonic()
        while True:
            counts = {key: n for table in tables for key, n in self.counts(table, by).items()}
            now = time.monotonic()
            if at_least is not None and all(n >= at_least for n in counts.values()):
                return counts
            if counts != previous:
                previous, unchanged_since = counts, now
            elif at_least is None and now - unchanged_since > SETTLED_AFTER:
                return counts
            if now >= deadline:
                return counts
            time.sleep(interval)

    def wait_for_rows(self, table: str, count: int, timeout: float = 30) -> dict:
        """`select * from 'table'` once it has at least `count` rows; too few at the deadline: QuestDBError."""
        seen = self.wait_for_counts([table], at_least=count, timeout=timeout)[table]
        if seen < count:
            raise QuestDBError(f"table {table!r} has {seen} rows after {timeout} s, expected {count}")
        return self.query("select * from '{}'".format(table.replace("'", "''")))


class _PortTaken(Exception):
    pass


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _java_error(stderr: str) -> str:
    """A Java stack trace's first exception line and its root cause, on one line; else stderr's last line.

    A malformed auth file gives "java.lang.IllegalArgumentException: IO error, failed to read auth db
    file ROOT/conf/auth.txt at line 1; caused by java.lang.IllegalArgumentException: Was expecting 4 tokens".
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    first = next((line for line in lines if re.match(r"^(Exception in thread \S+ )?[\w.$]+(Exception|Error)\b", line)),
                 None)
    if first is None:
        return lines[-1] if lines else "no output on stderr"
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by: ")]
    return f"{first}; caused by {causes[-1]}" if causes else first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interop.questdb.launcher", description=__doc__.split("\n")[0])
    parser.add_argument("--newest", action="store_true", help="print the newest 9.x version on Maven Central")
    parser.add_argument("--auth-db", type=Path, default=AUTH_DB)
    parser.add_argument("--log-dir", type=Path, default=Path("build/questdb"))
    args = parser.parse_args(argv)
    try:
        if args.newest:
            print(newest_version())
            return 0
        with QuestDBProcess(args.auth_db, args.log_dir) as qdb:
            print(json.dumps({"host": qdb.host, "ilp_port": qdb.ilp_port, "http_port": qdb.http_port,
                              "version": qdb.version, "startup_seconds": round(qdb.startup_seconds, 2),
                              "cmd": qdb.cmd, "log_dir": str(qdb.log_dir)}), flush=True)
            try:
                while qdb.proc.poll() is None:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
    except QuestDBError as error:
        print(f"questdb: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
