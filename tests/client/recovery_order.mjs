// Driven by tests/test_recovery_order.py, which owns the server and the history in Redis:
// the generated chat client presents the last offset of an unbroken run, so an event that a
// second server process sent late, after a higher one reached the client, is replayed on
// reconnect, and the replayed copy of the higher one is dropped.
//
// Protocol: this script prints one JSON object per line on stdout ({"step": ...}); the test
// answers on stdin, one word per line, after acting:
//
//   -> ready       connected; the first connect's recovery frames came
//                  (the test keeps event A at offset 1 of the room's stream without sending
//                   it, as a process whose send is late would, then posts B: offset 2, live)
//   <- cut
//   -> away        B arrived, alone; the TCP connection is cut under the client
//   -> recovered   the reconnect's recovery frames came; the events heard so far
//   <- live        (the test posted C)
//   -> done        C arrived; the events heard, in order; the client is closed
//
// Environment: CHGEN_URL, CHGEN_CLIENT, CHGEN_ROOM. Every wait is bounded; on failure the
// stack goes to stderr and the exit code is 1.

import readline from "node:readline";
import { env, loadClient, waitFor, WebSocket } from "./e2e_util.mjs";

const M = await loadClient();
const WAIT = 10_000;
const step = (name, fields = {}) => console.log(JSON.stringify({ step: name, ...fields }));
const words = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function heard(word) {
  const { value, done } = await words.next();
  if (done || value !== word) throw new Error(`expected ${word} on stdin, got ${done ? "the end" : value}`);
}

// Reconnects 300 ms after the cut (random() = 1).
const client = new M.LobbyClient(M.lobbyUrl(env("CHGEN_URL"), { room: env("CHGEN_ROOM") }), {
  WebSocket,
  random: () => 1,
  reconnect: { initialDelay: 300, maxDelay: 300 },
});
try {
  const posted = [];
  const outcomes = [];
  const sockets = [];
  client.chat.on.posted((data) => posted.push(data.text));
  client.chat.onRecovery((r) => outcomes.push(r));
  client.connection.onRecovery((r) => sockets.push(r));
  await waitFor(() => sockets.length === 1, WAIT, "the first connect's recovery frames");
  step("ready");

  await heard("cut");
  await waitFor(() => posted.length === 1, WAIT, "event B");
  client.connection.socket._socket.destroy(); // the TCP connection drops under the client
  step("away", { posted });
  await waitFor(() => sockets.length === 2, WAIT, "the reconnect's recovery frames");
  step("recovered", { posted, stream: outcomes[1], socket: sockets[1].recovered });

  await heard("live");
  await waitFor(() => posted.length >= 3, WAIT, "event C");
  step("done", { posted });
} finally {
  client.close();
}
process.exit(0);
