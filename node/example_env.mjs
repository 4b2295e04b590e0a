// The boring part shared by the four Node examples: reading the environment (interop/CLIENTS.md),
// loading the JWK and the rows fixture, the one-line error and exit, the connection loop, and three
// small socket helpers with a 10 s bound on every wait. The handshake itself is not in here: each
// example shows it in full.

import { readFileSync } from "node:fs";
import net from "node:net";
// JSON.parse would round 1700000000123456789 to 1700000000123456800 (a JS number holds 53 bits):
// lossless-json keeps every integer of the fixture exact, as a BigInt.
import { parse as parseJson, parseNumberAndBigInt } from "lossless-json";

export const TIMEOUT_SECONDS = 10;
const TIMEOUT_MS = TIMEOUT_SECONDS * 1000;

// Print ONE line on stderr, "<example id>: <what failed>", and exit 1.
export function fail(exampleId, message) {
  const oneLine = String(message).replace(/\s*[\r\n]+\s*/g, " ");
  process.stderr.write(`${exampleId}: ${oneLine}\n`);
  process.exit(1);
}

// Read and check ILP_HOST, ILP_PORT, ILP_KEY, ILP_ROWS and ILP_CONNECTIONS; load the key and the rows.
// Any problem ends the process with one line. From here on, an unexpected error does the same.
export function setUp(exampleId) {
  process.on("uncaughtException", (err) => fail(exampleId, `unexpected error: ${err.message}`));
  process.on("unhandledRejection", (err) => fail(exampleId, `unexpected error: ${err?.message ?? err}`));
  try {
    const host = required("ILP_HOST");
    const port = integer("ILP_PORT", required("ILP_PORT"));
    if (port > 65535) throw new Error(`ILP_PORT must be at most 65535, got ${port}`);
    const keyPath = required("ILP_KEY");
    const rowsPath = required("ILP_ROWS");
    const connections = process.env.ILP_CONNECTIONS === undefined ? 1 : integer("ILP_CONNECTIONS", process.env.ILP_CONNECTIONS);
    return { host, port, keyPath, jwk: loadJwk(keyPath), rows: loadRows(rowsPath), connections };
  } catch (err) {
    fail(exampleId, err.message);
  }
}

function required(name) {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

function integer(name, text) {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return Number(text);
}

// The key file: {"kty":"EC","crv":"P-256","kid":..,"d":..,"x":..,"y":..}, coordinates unpadded base64url.
function loadJwk(path) {
  let jwk;
  try {
    jwk = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`ILP_KEY ${path}: ${err.message}`);
  }
  if (jwk?.kty !== "EC" || jwk.crv !== "P-256") throw new Error(`ILP_KEY ${path}: not a P-256 key (kty must be "EC", crv "P-256")`);
  for (const member of ["kid", "d", "x", "y"]) {
    if (typeof jwk[member] !== "string" || jwk[member] === "") throw new Error(`ILP_KEY ${path}: "${member}" is missing`);
  }
  return jwk;
}

// The rows fixture: JSON lines, each with id, table, symbols, columns, timestamp and ilp.
function loadRows(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`ILP_ROWS ${path}: ${err.message}`);
  }
  const rows = [];
  for (const [index, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const where = `ILP_ROWS ${path}:${index + 1}`;
    let row;
    try {
      row = parseJson(line, null, parseNumberAndBigInt); // integers become BigInt, other numbers number
    } catch (err) {
      throw new Error(`${where}: ${err.message}`);
    }
    for (const member of ["id", "table", "ilp"]) {
      if (typeof row?.[member] !== "string") throw new Error(`${where}: "${member}" is missing`);
    }
    if (!isObject(row.symbols) || !isObject(row.columns) || !(row.timestamp === null || isObject(row.timestamp))) {
      throw new Error(`${where}: "symbols", "columns" or "timestamp" is missing or malformed`);
    }
    rows.push(row);
  }
  return rows;
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ILP_CONNECTIONS times, one after another: sendOnce(n). The first failure ends the process with
// "connection N: <what failed>".
export async function forEachConnection(exampleId, connections, sendOnce) {
  for (let n = 1; n <= connections; n++) {
    try {
      await sendOnce(n);
    } catch (err) {
      fail(exampleId, `connection ${n}: ${err.message}`);
    }
  }
}

// Reject with "<what>: timed out after 10 s" unless the promise settles first; other failures become
// "<what>: <error>".
export async function withTimeout(what, promise) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_SECONDS} s`)), TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } catch (err) {
    throw new Error(`${what}: ${err.message}`);
  } finally {
    clearTimeout(timer);
  }
}

// Open a TCP connection, bounded by 10 s.
export function connect(host, port) {
  const what = `connecting to ${host}:${port}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${what}: timed out after ${TIMEOUT_SECONDS} s`));
    }, TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    // This listener stays for the socket's life: a later error (the server closed the connection
    // while we write) must not crash the process; readLine and closeAfterSending report it.
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${err.message}`)); // no effect once connected
    });
  });
}

// Read one line from the socket, bounded by 10 s; resolve with its bytes, without the "\n".
// TCP delivers a stream, not messages: the 513 bytes of the challenge may come in several pieces,
// so "data" may fire several times, and the line is complete only when the "\n" has arrived.
export function readLine(socket, what) {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`timed out after ${TIMEOUT_SECONDS} s`)), TIMEOUT_MS);
    const onData = (piece) => {
      received = Buffer.concat([received, piece]);
      const end = received.indexOf(0x0a); // "\n"
      if (end !== -1) done(null, received.subarray(0, end));
    };
    const onEnd = () => done(new Error(`the server closed the connection after ${received.length} bytes, before the line end`));
    const onError = (err) => done(err);
    function done(err, line) {
      clearTimeout(timer);
      socket.off("data", onData).off("end", onEnd).off("error", onError);
      if (err) {
        socket.destroy();
        reject(new Error(`${what}: ${err.message}`));
      } else {
        resolve(line);
      }
    }
    socket.on("data", onData).on("end", onEnd).on("error", onError);
  });
}

// Close our side once everything written has been sent, and wait (10 s at most) until the server
// has closed its side too: it does so after reading the last row. A write that failed is reported
// here: the server closes the connection when it rejects the signature, and later writes fail.
export function closeAfterSending(socket, what) {
  const failure = () =>
    new Error(`${what}: ${socket.errored?.message ?? "connection closed"} (the server closed the connection early, as it does on a rejected signature)`);
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(failure());
      return;
    }
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${what}: timed out after ${TIMEOUT_SECONDS} s`));
    }, TIMEOUT_MS);
    socket.once("close", () => {
      clearTimeout(timer);
      if (socket.errored) reject(failure());
      else resolve();
    });
    socket.end();
  });
}
