// Helpers shared by the end-to-end scripts of the generated chat client
// (node_e2e.test.mjs, e2e_exit.mjs, e2e_reconnect.mjs).
//
// Environment, set by tests/test_client_e2e.py:
//   CHGEN_URL     the server, e.g. ws://127.0.0.1:8000
//   CHGEN_CLIENT  the client module to test: generated/chat/client.js, or client.ts compiled by tsc

import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import WebSocket from "ws";

export { WebSocket };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** An environment variable that must be set. */
export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run these scripts through tests/test_client_e2e.py`);
  return value;
}

/** The client module under test (CHGEN_CLIENT, relative to the repository root or absolute). */
export async function loadClient() {
  return import(pathToFileURL(path.resolve(ROOT, env("CHGEN_CLIENT"))).href);
}

/** A room name no other test uses. */
export function uniqueRoom(label) {
  return `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** `promise`, or a rejection naming `what` if it does not settle within `ms`. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once `check()` holds; polls every 10 ms and fails, naming `what`, after `ms`. */
export function waitFor(check, ms, what) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const poll = () => {
      let ok;
      try {
        ok = check();
      } catch (error) {
        reject(error);
        return;
      }
      if (ok) resolve();
      else if (Date.now() > deadline) reject(new Error(`${what}: not reached within ${ms} ms`));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

/** Resolves when the client's connection is in `state` (at once if it is), within `ms`. */
export function whenState(client, state, ms = 5_000) {
  if (client.connection.state === state) return Promise.resolve();
  let off;
  return within(
    new Promise((resolve) => {
      off = client.connection.onState((now) => {
        if (now === state) resolve();
      });
    }),
    ms,
    `the connection to ${client.connection.url} reaching state ${state} (now ${client.connection.state})`,
  ).finally(() => off());
}

/** The error a promise rejects with, within `ms`; fails if it resolves instead. */
export async function rejection(promise, ms, what) {
  let value;
  try {
    value = await within(promise, ms, what);
  } catch (error) {
    return error;
  }
  assert.fail(`${what}: expected a rejection, got ${JSON.stringify(value)}`);
}

/** Asserts `error` is the module's ChgenError with these fields. */
export function assertChgenError(M, error, expected) {
  assert.ok(error instanceof M.ChgenError, `expected a ChgenError, got ${error?.stack ?? error}`);
  assert.ok(error instanceof Error, "a ChgenError is an Error");
  assert.equal(error.name, "ChgenError");
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(error[key], value, `error.${key} of ${error.code}: ${error.message}`);
  }
  assert.equal(typeof error.message, "string");
  assert.ok(error.message.length > 0, "the error has a message");
}

/** A `ws` subclass that counts the sockets the client creates (one per connection attempt). */
export function countingWebSocket() {
  const created = [];
  class Counting extends WebSocket {
    constructor(...args) {
      super(...args);
      created.push(this);
    }
  }
  return { Counting, created };
}

/**
 * A TCP proxy in front of the server. `freeze()` holds everything the server sends (a hung
 * server, as the client sees it) until `thaw()`; `cut()` drops every connection and refuses
 * new ones (a server gone away) until `restore()`.
 */
export async function startProxy(targetUrl) {
  const target = new URL(targetUrl);
  const sockets = new Set();
  let frozen = false;
  const upstreams = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    upstreams.add(upstream);
    if (frozen) upstream.pause();
    client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      upstreams.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on("error", end);
      s.on("close", end);
    }
  });
  const listen = (port) =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve(server.address().port);
      });
    });
  const port = await listen(0);
  const stopListening = () => new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  return {
    url: `ws://127.0.0.1:${port}`,
    freeze() {
      frozen = true;
      for (const u of upstreams) u.pause();
    },
    thaw() {
      frozen = false;
      for (const u of upstreams) u.resume();
    },
    async cut() {
      const stopped = stopListening();
      for (const s of sockets) s.destroy();
      await stopped;
    },
    async restore() {
      await listen(port);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await stopListening();
    },
  };
}
