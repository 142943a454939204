// End to end: the generated chat client's connection options against a real uvicorn server
// that checks every handshake (tests/test_client_e2e.py, test_connection_options, serves it):
// the subprotocol "chgen.v1" must be offered (the server selects it), the header
// "X-Team: blue" must be sent, and a token must come in the query (`token`), in a
// subprotocol (`token.<token>`) or in the Authorization header (`Bearer <token>`). The server
// takes each token once only, so a reconnect gets in only with a fresh one; anything else
// is refused with HTTP 403.
//
// Environment: CHGEN_URL (ws://127.0.0.1:PORT), CHGEN_CLIENT (the module's path).
// Every wait is bounded, as in node_e2e.test.mjs.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  assertChgenError,
  env,
  loadClient,
  rejection,
  startProxy,
  uniqueRoom,
  whenState,
  within,
  WebSocket,
} from "./e2e_util.mjs";

const BASE = env("CHGEN_URL");
const CLIENT = env("CHGEN_CLIENT");
const M = await loadClient();

const T = { timeout: 15_000 }; // per test
const WAIT = 5_000; // per wait
// Quick retries, so that a reconnect takes milliseconds, but never a busy loop.
const RETRY = { initialDelay: 20, maxDelay: 100 };
// What the server requires besides the token.
const REQUIRED = { WebSocket, protocols: ["chgen.v1"], headers: { "X-Team": "blue" }, reconnect: RETRY };

const clients = new Set();
after(() => {
  for (const client of clients) client.close();
});

function connect(options, base = BASE) {
  const client = new M.LobbyClient(M.lobbyUrl(base, { room: uniqueRoom("auth") }), options);
  clients.add(client);
  return client;
}

/** A token source that numbers its tokens (`label-1`, `label-2`, ...) and keeps them. */
function tokens(label) {
  const issued = [];
  return {
    issued,
    token: async () => {
      issued.push(`${label}-${issued.length + 1}`);
      return issued.at(-1);
    },
  };
}

async function echo(client, text) {
  return within(client.echo.request.say({ text }), WAIT, `say ${text}`);
}

describe(`connection options of ${CLIENT} against ${BASE}`, () => {
  test("a token in the query, with the subprotocol and header; a reconnect fetches a fresh one", T, async (t) => {
    const proxy = await startProxy(BASE);
    t.after(() => proxy.close());
    const source = tokens("query");
    const client = connect({ ...REQUIRED, auth: { token: source.token } }, proxy.url);
    assert.deepEqual(await echo(client, "in"), { text: "in" });
    assert.deepEqual(source.issued, ["query-1"]);
    assert.equal(client.connection.url.includes("token"), false, "the url the client shows has no token");

    await proxy.cut(); // the server is gone: every attempt fails and asks for a token again
    await whenState(client, "reconnecting", WAIT);
    const queued = client.echo.request.say({ text: "after" });
    await proxy.restore();
    await whenState(client, "open", WAIT);
    assert.deepEqual(await within(queued, WAIT, "the queued say"), { text: "after" });
    assert.ok(source.issued.length >= 2, `tokens: ${source.issued}`);
    client.close();
  });

  test("a token in a subprotocol", T, async () => {
    const source = tokens("protocol");
    const client = connect({ ...REQUIRED, auth: { token: source.token, in: "protocol", name: "token." } });
    assert.deepEqual(await echo(client, "hi"), { text: "hi" });
    assert.deepEqual(source.issued, ["protocol-1"]);
    client.close();
  });

  test("a token in a header", T, async () => {
    const source = tokens("header");
    const auth = { token: async () => `Bearer ${await source.token()}`, in: "header" };
    const client = connect({ ...REQUIRED, auth });
    assert.deepEqual(await echo(client, "hi"), { text: "hi" });
    client.close();
  });

  test("a refused handshake fails waiting requests at once with handshake_refused and HTTP 403", T, async () => {
    const client = connect({ ...REQUIRED, requestTimeout: 60_000, reconnect: false, auth: { token: () => "expired" } });
    const errors = [];
    client.connection.onError((error) => errors.push(error));
    const error = await rejection(client.chat.request.post({ text: "hi" }), WAIT, "a post on a refused socket");
    assertChgenError(M, error, { code: "handshake_refused", status: 403, stream: "chat" });
    assert.deepEqual(errors.map((e) => [e.code, e.status, e.stream]), [["handshake_refused", 403, null]]);
    await whenState(client, "closed", WAIT);
  });

  test("without the header, or without the subprotocol, the handshake is refused too", T, async () => {
    for (const [what, options] of [
      ["no header", { WebSocket, protocols: ["chgen.v1"] }],
      ["no subprotocol", { WebSocket, headers: { "X-Team": "blue" } }],
    ]) {
      const client = connect({ ...options, reconnect: false, auth: { token: tokens(what).token } });
      const error = await rejection(client.echo.request.say({ text: "x" }), WAIT, what);
      assertChgenError(M, error, { code: "handshake_refused", status: 403 });
    }
  });

  test("the same token twice is refused: the server takes each token once", T, async () => {
    const first = connect({ ...REQUIRED, auth: { token: () => "once" } });
    assert.deepEqual(await echo(first, "first"), { text: "first" });
    const second = connect({ ...REQUIRED, reconnect: false, auth: { token: () => "once" } });
    const error = await rejection(second.echo.request.say({ text: "second" }), WAIT, "the second say");
    assertChgenError(M, error, { code: "handshake_refused", status: 403 });
    first.close();
  });
});
