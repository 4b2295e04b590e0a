// The boring part shared by the four Node examples (contract: interop/CLIENTS.md): reading and
// checking the environment, loading the JWK and the rows fixture, the one-line error and exit, the
// connection loop, and withTimeout, which bounds a wait by ILP_TIMEOUT_S. Nothing of the handshake is
// in here, not even the socket: each raw example shows it in full, connecting and closing included.

import { readFileSync } from "node:fs";
// JSON.parse would round 1700000000123456789 to 1700000000123456800 (a JS number holds 53 bits):
// lossless-json keeps every integer of the fixture exact, as a BigInt.
import { parse as parseJson, parseNumberAndBigInt } from "lossless-json";

// ILP_TIMEOUT_S, as given (it is quoted in "timed out after N s"), and in milliseconds. setUp sets them.
let timeoutText = "10";
let timeoutMs = 10_000;
const LONGEST_TIMER_MS = 2 ** 31 - 1; // setTimeout fires at once (with a warning) beyond this

// Print ONE line on stderr, "<example id>: <what failed>", and exit 1.
export function fail(exampleId, message) {
  const oneLine = String(message).replace(/\s*[\r\n]+\s*/g, " ");
  process.stderr.write(`${exampleId}: ${oneLine}\n`);
  process.exit(1);
}

// Read and check every ILP_* variable, then load the key and the rows. `can` says what the example
// can do: the protocol versions it sends and whether it speaks TLS; asked for anything else, it
// refuses here, before connecting. Any problem ends the process with one line. From here on, an
// unexpected error does the same.
export function setUp(exampleId, can) {
  process.on("uncaughtException", (err) => fail(exampleId, `unexpected error: ${err.message}`));
  process.on("unhandledRejection", (err) => fail(exampleId, `unexpected error: ${err?.message ?? err}`));
  try {
    const host = required("ILP_HOST");
    const port = integer("ILP_PORT", required("ILP_PORT"));
    if (port > 65535) throw new Error(`ILP_PORT must be at most 65535, got ${port}`);
    const keyPath = required("ILP_KEY");
    const rowsPath = required("ILP_ROWS");
    const connections = integer("ILP_CONNECTIONS", optional("ILP_CONNECTIONS", "1"));
    [timeoutText, timeoutMs] = seconds("ILP_TIMEOUT_S", optional("ILP_TIMEOUT_S", "10"));
    const protocolVersion = version("ILP_PROTOCOL_VERSION", optional("ILP_PROTOCOL_VERSION", "1"));
    const tlsCa = optional("ILP_TLS_CA", null);
    if (tlsCa !== null) readable("ILP_TLS_CA", tlsCa);

    if (!can.protocolVersions.includes(protocolVersion)) {
      const versions = can.protocolVersions.join(", ");
      throw new Error(`ILP_PROTOCOL_VERSION=${protocolVersion}: this example sends protocol version${can.protocolVersions.length > 1 ? "s" : ""} ${versions} only`);
    }
    if (tlsCa !== null && !can.tls) throw new Error("ILP_TLS_CA is set, but this example speaks plain TCP only");

    const rows = loadRows(rowsPath);
    const textless = rows.find((row) => row.ilp === null);
    if (protocolVersion === 1 && textless) {
      throw new Error(`ILP_ROWS row ${textless.id} has no text form (its ilp is null): protocol version 1 cannot send it; ILP_PROTOCOL_VERSION must be 2 or 3`);
    }
    return { host, port, keyPath, jwk: loadJwk(keyPath), rows, connections, protocolVersion, tlsCa };
  } catch (err) {
    fail(exampleId, err.message);
  }
}

function required(name) {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

// Unset or empty: the default.
function optional(name, byDefault) {
  const value = process.env[name];
  return value === undefined || value === "" ? byDefault : value;
}

function integer(name, text) {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return Number(text);
}

// A positive number of seconds, decimals allowed: [text as given, milliseconds].
function seconds(name, text) {
  const ms = Number(text) * 1000;
  if (!/^([0-9]+\.?[0-9]*|\.[0-9]+)$/.test(text) || !(ms > 0)) throw new Error(`${name} must be a positive number of seconds, got "${text}"`);
  if (ms > LONGEST_TIMER_MS) throw new Error(`${name} must be at most ${Math.floor(LONGEST_TIMER_MS / 1000)} (the longest timer Node has), got "${text}"`);
  return [text, ms];
}

function version(name, text) {
  if (!["1", "2", "3"].includes(text)) throw new Error(`${name} must be 1, 2 or 3, got "${text}"`);
  return Number(text);
}

function readable(name, path) {
  try {
    readFileSync(path);
  } catch (err) {
    throw new Error(`${name} ${path}: ${err.message}`);
  }
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

// The rows fixture: JSON lines, each with id, table, symbols, columns, timestamp and ilp (its text form,
// or null where ILP has none).
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
    for (const member of ["id", "table"]) {
      if (typeof row?.[member] !== "string") throw new Error(`${where}: "${member}" is missing`);
    }
    // ilp: the row as text, or null where ILP has no text form for it (an array).
    if (typeof row.ilp !== "string" && row.ilp !== null) throw new Error(`${where}: "ilp" is missing (a string, or null)`);
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

// Wait for the promise, ILP_TIMEOUT_S at most: "<what>: timed out after N s" unless it settles first;
// a failure becomes "<what>: <error>". Settling late does no harm: the example has moved on (or ended).
export async function withTimeout(what, promise) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutText} s`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } catch (err) {
    throw new Error(`${what}: ${err?.message ?? err}`);
  } finally {
    clearTimeout(timer);
  }
}
