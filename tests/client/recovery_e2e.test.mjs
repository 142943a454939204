// End to end: the generated chat client recovers the group events it missed while its
// connection was cut, through the same typed handlers as live ones, and says so per stream
// and for the socket.
//
// tests/test_client_e2e.py serves tests/fixtures/recovery_app.py (the chat app whose chat
// stream keeps each room's events) and runs this file on the shipped client.js and on
// client.ts compiled by tsc.
//
// Environment: CHGEN_URL (ws://127.0.0.1:PORT), CHGEN_CLIENT (the module's path).

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { env, loadClient, uniqueRoom, waitFor, whenState, within, WebSocket } from "./e2e_util.mjs";

const BASE = env("CHGEN_URL");
const M = await loadClient();
const T = { timeout: 20_000 };
const WAIT = 5_000;

const clients = new Set();
after(() => {
  for (const client of clients) client.close();
});

function connect(room, options = {}) {
  const client = new M.LobbyClient(M.lobbyUrl(BASE, { room }), { WebSocket, ...options });
  clients.add(client);
  return client;
}

test("events posted while the connection is cut arrive on reconnect, in order, once, then live ones", T, async () => {
  const room = uniqueRoom("cut");
  // Reconnects 400 ms after the cut (random() = 1): the posts below happen while it is away.
  const client = connect(room, { random: () => 1, reconnect: { initialDelay: 400, maxDelay: 400 } });
  const posted = [];
  const streamOutcomes = [];
  const socketOutcomes = [];
  client.chat.on.posted((data) => posted.push(data.text));
  client.chat.onRecovery((r) => streamOutcomes.push([r, posted.length]));
  client.connection.onRecovery((r) => socketOutcomes.push(r));
  await waitFor(() => socketOutcomes.length === 1, WAIT, "the first connect's recovery frames");
  assert.equal(client.connection.recovered, false, "a first connect is never recovered");
  assert.equal(streamOutcomes[0][0].groups[`room.${room}`].reason, "new");

  const sender = connect(room, { recover: false });
  await whenState(sender, "open", WAIT);
  for (const text of ["a", "b"]) await within(sender.chat.request.post({ text }), WAIT, text);
  await waitFor(() => posted.length === 2, WAIT, "the first two events");

  client.connection.socket._socket.destroy(); // the TCP connection drops under the client
  await whenState(client, "reconnecting", WAIT);
  for (const text of ["c", "d", "e", "f"]) await within(sender.chat.request.post({ text }), WAIT, text);
  await waitFor(() => socketOutcomes.length === 2, WAIT, "the reconnect's recovery frames");

  assert.deepEqual(posted, ["a", "b", "c", "d", "e", "f"], "the missed events, through the typed handler");
  const [outcome, seenBefore] = streamOutcomes[1];
  assert.equal(seenBefore, 6, "onRecovery runs after the replayed events reached their handlers");
  assert.deepEqual(outcome, {
    stream: "chat",
    recovered: true,
    groups: { [`room.${room}`]: { recovered: true, epoch: outcome.groups[`room.${room}`].epoch, offset: 6, replayed: 4 } },
  });
  assert.deepEqual(socketOutcomes[1], { stream: null, recovered: true, groups: undefined });
  assert.equal(client.connection.recovered, true);

  await within(sender.chat.request.post({ text: "live" }), WAIT, "live");
  await waitFor(() => posted.length === 7, WAIT, "the live event");
  assert.equal(posted[6], "live");
});

test("without recover the client connects as before and is told nothing", T, async () => {
  const room = uniqueRoom("plain");
  const client = connect(room, { recover: false });
  const outcomes = [];
  client.connection.onRecovery((r) => outcomes.push(r));
  await whenState(client, "open", WAIT);
  const posted = [];
  client.chat.on.posted((data) => posted.push(data.text));
  await within(client.chat.request.post({ text: "hi" }), WAIT, "hi");
  await waitFor(() => posted.length === 1, WAIT, "its own event");
  assert.deepEqual(outcomes, []);
  assert.equal(client.connection.recovered, null);
});
