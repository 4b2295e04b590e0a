"""The command line: `serve` (the stub) and `keys` (key tooling, keys.py).

    python -m server_stub serve --auth-db FILE [--host 127.0.0.1] [--port 0] [--events FILE]

prints ONE JSON line on stdout once it listens, {"event":"listening","host":...,"port":...},
then serves until SIGTERM or SIGINT and flushes its events before it exits 0. A bad auth file
stops it with exit code 2 and one line on stderr: "FILE:LINE: problem".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import ssl
import sys

from . import keys
from .authdb import AuthFileError, load_auth_db
from .events import EventLog
from .faults import FAULTS, PARAMETERS
from .loops import LOOPS, default_loop, new_event_loop
from .schema import SchemaError, load_schema
from .server import StubConfig, StubServer


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


def parser() -> argparse.ArgumentParser:
    """The whole command line: `serve` and `keys`."""
    top = argparse.ArgumentParser(prog="python -m server_stub", description=__doc__.split("\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    _add_serve_command(sub)
    keys.add_keys_commands(sub)
    return top


def _add_serve_command(sub) -> None:
    defaults = StubConfig()
    serve = sub.add_parser("serve", help="run the challenge/response ILP server stub")
    serve.add_argument("--auth-db", required=True, help="auth file: '<kid> ec-p-256-sha256 <x> <y>' per line")
    serve.add_argument("--host", default=defaults.host, help="address to bind (default %(default)s)")
    serve.add_argument("--also-host", action="append", default=[], metavar="HOST",
                       help="listen on this address too, on the same port (repeatable; e.g. ::1)")
    serve.add_argument("--port", type=int, default=defaults.port, help="port (default %(default)s: a free one)")
    serve.add_argument("--events", help="JSON-lines events file (default: stderr)")
    serve.add_argument("--handshake-timeout", type=float, default=defaults.handshake_timeout,
                       help="seconds for key id + signature (default %(default)s; the real server has none)")
    serve.add_argument("--max-key-id-bytes", type=int, default=defaults.max_key_id_bytes,
                       help="key id line limit (default %(default)s)")
    serve.add_argument("--max-line-bytes", type=int, default=defaults.max_line_bytes,
                       help="ILP line limit (default %(default)s)")
    serve.add_argument("--schema", metavar="FILE", help="tables declared before any row (TOML, schema.py): "
                       "DECIMAL columns, which QuestDB never makes from ILP, must be declared")
    serve.add_argument("--tls", action="store_true", help="speak TLS on the port (QuestDB Enterprise's tcps::): "
                       "a throwaway CA and certificate for localhost, 127.0.0.1 and ::1, unless --tls-cert")
    serve.add_argument("--tls-dir", metavar="DIR", help="where --tls writes ca.pem, server.pem and server.key "
                       "(mode 0600; default: a folder made for the run)")
    serve.add_argument("--tls-cert", metavar="FILE", help="with --tls: your own certificate (PEM) instead")
    serve.add_argument("--tls-key", metavar="FILE", help="with --tls-cert: its private key (PEM)")
    serve.add_argument("--flush-interval", type=float, default=defaults.flush_interval,
                       help="seconds between flushes of the events file (default %(default)s)")
    serve.add_argument("--fault", choices=sorted(FAULTS), help="inject a misbehaviour, to test a client: "
                       + "; ".join(f"{fault.name}: {fault.description}" for fault in FAULTS.values()))
    for parameter in PARAMETERS.values():
        users = ", ".join(fault.name for fault in FAULTS.values() if parameter.name in fault.parameters)
        serve.add_argument(parameter.option, type=parameter.type, default=parameter.default,
                           metavar=parameter.metavar, help=f"{parameter.unit}, for {users} (default %(default)s)")
    serve.add_argument("--loop", choices=LOOPS, default=default_loop(),
                       help="event loop (default %(default)s: uvloop when installed)")
    serve.set_defaults(func=_serve)


def _serve(args) -> int:
    try:
        auth_keys = load_auth_db(args.auth_db)
        if args.schema:
            load_schema(args.schema)  # checked before listening; the server loads it again
    except (AuthFileError, SchemaError) as error:
        print(error, file=sys.stderr)
        return 2
    config = StubConfig(
        host=args.host,
        also_hosts=tuple(args.also_host),
        port=args.port,
        handshake_timeout=args.handshake_timeout,
        max_key_id_bytes=args.max_key_id_bytes,
        max_line_bytes=args.max_line_bytes,
        flush_interval=args.flush_interval,
        fault=args.fault,
        schema=args.schema,
        tls=args.tls or bool(args.tls_cert),
        tls_dir=args.tls_dir,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        **{name: getattr(args, name) for name in PARAMETERS},
    )
    log = EventLog.to_file(args.events) if args.events else EventLog(sys.stderr.buffer)
    try:
        try:
            server = StubServer(auth_keys, log, config)
        except (OSError, ssl.SSLError, ValueError) as error:  # TLS files that cannot be made or loaded
            print(f"--tls: {error}", file=sys.stderr)
            return 2
        with asyncio.Runner(loop_factory=lambda: new_event_loop(args.loop)) as runner:
            runner.run(_serve_until_signal(server))
    finally:
        log.close()
    return 0


async def _serve_until_signal(server: StubServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        server.stop_reading()  # at once: each later step of the stop waits for a turn of the busy loop
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    await server.start()
    print(json.dumps(server.listening_event()), flush=True)
    await stop.wait()
    await server.stop()
