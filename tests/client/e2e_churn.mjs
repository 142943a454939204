// Driven by tests/test_client_e2e.py: clients leave a room while its posts are on their way
// to them, the most ordinary thing a chat client does (close the tab mid-conversation).
//
// A few busy rooms at once. In each, POSTERS clients post steadily (a few posts always
// awaiting their ack) and LEAVERS clients close one after another, each after hearing some
// posts, while more are on their way to it. Every poster must still get every ack and hear
// every post, each poster's in its order. The test then checks the server's log: a client
// leaving is not a server error.
//
// Environment: CHGEN_URL, CHGEN_CLIENT. Prints one JSON line at the end; exit 1 on failure.

import assert from "node:assert/strict";
import { env, loadClient, uniqueRoom, waitFor, whenState, within, WebSocket } from "./e2e_util.mjs";

const M = await loadClient();
const BASE = env("CHGEN_URL");
const ROOMS = 3;
const POSTERS = 4;
const PIPELINE = 4; // posts of one poster awaiting their ack at any time
const LEAVERS = 16;
const STEP = 10; // leaver i closes once it has heard (i + 1) * STEP posts
const PER_POSTER = ((LEAVERS + 4) * STEP) / POSTERS;
const TOTAL = PER_POSTER * POSTERS;
const WAIT = 10_000;

const connect = (room) => new M.LobbyClient(M.lobbyUrl(BASE, { room }), { WebSocket, reconnect: false });

let closedEarly = 0;

async function busyRoom(r) {
  const room = uniqueRoom("churn");
  const leavers = Array.from({ length: LEAVERS }, () => connect(room));
  const posters = Array.from({ length: POSTERS }, () => connect(room));
  try {
    await Promise.all([...leavers, ...posters].map((client) => whenState(client, "open", WAIT)));
    const heardByLeavers = leavers.map((client, i) => {
      let count = 0;
      client.chat.on.posted(() => {
        if (++count === (i + 1) * STEP) client.close(); // leave mid-conversation
      });
      return () => count;
    });
    const heardByPosters = posters.map((client) => {
      const texts = [];
      client.chat.on.posted((data) => texts.push(data.text));
      return texts;
    });
    await within(
      Promise.all(
        posters.map(async (client, p) => {
          let next = 0;
          const pipe = async () => {
            while (next < PER_POSTER) await client.chat.request.post({ text: `${r}.${p}.${next++}` });
          };
          await Promise.all(Array.from({ length: PIPELINE }, pipe));
        }),
      ),
      WAIT,
      `room ${r}: the posters' acks`,
    );
    await waitFor(() => heardByPosters.every((texts) => texts.length === TOTAL), WAIT, `room ${r}: posters hear all posts`);
    for (const texts of heardByPosters) {
      for (let p = 0; p < POSTERS; p++) {
        const own = texts.filter((text) => text.startsWith(`${r}.${p}.`));
        assert.deepEqual(own, Array.from({ length: PER_POSTER }, (_, i) => `${r}.${p}.${i}`));
      }
    }
    for (const client of leavers) assert.equal(client.connection.state, "closed");
    closedEarly += heardByLeavers.filter((count) => count() < TOTAL).length;
  } finally {
    for (const client of [...leavers, ...posters]) client.close();
  }
}

// The rooms are busy at the same time, as on a real server.
await Promise.all(Array.from({ length: ROOMS }, (_, r) => busyRoom(r)));
console.log(JSON.stringify({ rooms: ROOMS, posters: POSTERS, leavers: LEAVERS, posts: TOTAL, closedEarly }));
