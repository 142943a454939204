// End to end: what the generated chat client tells its user when the server's channel layer
// loses group events (a gap report, through onGap) and when a stream's rate limit refuses a
// message (a ChgenError "rate_limited" with retryAfter).
//
// tests/test_client_e2e.py serves tests/fixtures/faulty_layer_app.py (the chat app on a layer
// that loses the events of posts saying "lose me", its echo stream limited to 5 messages a second in bursts
// of 3) and runs this file on the shipped client.js and on client.ts compiled by tsc.
//
// Environment: CHGEN_URL (ws://127.0.0.1:PORT), CHGEN_CLIENT (the module's path).

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { assertChgenError, env, loadClient, uniqueRoom, waitFor, whenState, within, WebSocket } from "./e2e_util.mjs";

const BASE = env("CHGEN_URL");
const M = await loadClient();
const T = { timeout: 15_000 };
const WAIT = 5_000;

const clients = new Set();
after(() => {
  for (const client of clients) client.close();
});

async function open(room) {
  const client = new M.LobbyClient(M.lobbyUrl(BASE, { room }), { WebSocket });
  clients.add(client);
  await whenState(client, "open", WAIT);
  return client;
}

test("a lost group event is reported to the stream and the connection, with its count", T, async () => {
  const room = uniqueRoom("gap");
  const [sender, receiver] = [await open(room), await open(room)];
  const posted = [];
  const streamGaps = [];
  const socketGaps = [];
  receiver.chat.on.posted((data) => posted.push(data.text));
  receiver.chat.onGap((gap) => streamGaps.push(gap));
  receiver.connection.onGap((gap) => socketGaps.push(gap));
  for (const text of ["m0", "m1", "lose me", "m3"]) await within(sender.chat.request.post({ text }), WAIT, text);
  // The layer lost "lose me": noticed when m3 arrived.
  await waitFor(() => posted.length === 3 && streamGaps.length === 1, WAIT, "posted events and a gap");
  assert.deepEqual(posted, ["m0", "m1", "m3"]);
  assert.deepEqual(streamGaps, [{ stream: "chat", lost: 1, reason: "lost" }]);
  assert.deepEqual(socketGaps, streamGaps);
});

test("a message over the rate limit is refused with the time to wait", T, async () => {
  const client = await open(uniqueRoom("limit"));
  const answers = await Promise.allSettled([1, 2, 3, 4].map((n) => client.echo.request.say({ text: `${n}` })));
  assert.deepEqual(answers.slice(0, 3).map((a) => a.status), ["fulfilled", "fulfilled", "fulfilled"]);
  assert.equal(answers[3].status, "rejected");
  const error = answers[3].reason;
  assertChgenError(M, error, { code: "rate_limited", stream: "echo" });
  assert.ok(typeof error.retryAfter === "number" && error.retryAfter > 0 && error.retryAfter <= 200, `${error.retryAfter}`);
  await new Promise((resolve) => setTimeout(resolve, error.retryAfter));
  assert.deepEqual(await within(client.echo.request.say({ text: "again" }), WAIT, "say again"), { text: "again" });
});
