// End to end in a browser: a page using the generated client.js gets back the group events it
// missed while its connection was cut, through its typed handlers, and is told so; after the
// history's TTL it is told why it could not, and live events go on.
//
// The page (tests/client/recovery_page.html) and its sockets are served by
// tests/fixtures/recovery_page_app.py and reached through a TCP proxy (startProxy) that this
// script cuts: the page sees its socket drop without a close frame, as on a real network, and
// the client reconnects by itself with its backoff; the proxy refuses connections until the
// events the page misses have been posted. The events are posted by a Node client (the same
// client.js, with `ws`) connected to the server directly.
//
// Environment (set by tests/test_client_e2e.py):
//   CHGEN_URL       the server, e.g. ws://127.0.0.1:8000
//   CHGEN_CLIENT    the client module for the Node sender: generated/chat/client.js
//   CHGEN_CHROMIUM  the Chromium binary (default /usr/bin/chromium)
// Exit code 0 on success; on failure the error and every page's console output go to stderr.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { launchChromium, pageLog, startWatchdog } from "./browser_util.mjs";
import { env, loadClient, startProxy, uniqueRoom, whenState, within, WebSocket } from "./e2e_util.mjs";

const SERVER = env("CHGEN_URL");
const M = await loadClient();
const WAIT = 5_000; // per wait
const OVERALL = 30_000;
const TTL = 1_000; // how long /short/<room>/ keeps events (tests/fixtures/recovery_app.py)

const log = pageLog();
startWatchdog(OVERALL, "browser recovery", log.dump);

/** A Node client of the room that does not recover: it only posts. */
async function sender(route, room) {
  const options = { WebSocket, recover: false };
  const client =
    route === "short"
      ? new (M.socketOf(M.ChatStream))(`${SERVER}/short/${room}/`, options)
      : new M.LobbyClient(M.lobbyUrl(SERVER, { room }), options);
  await whenState(client, "open", WAIT);
  const chat = client.chat ?? client;
  return {
    post: (text) => within(chat.request.post({ text }), WAIT, `posting ${text}`),
    close: () => client.close(),
  };
}

/** What the page saw (window.seen), as JSON has it. */
const seen = async (page) => JSON.parse(await page.evaluate(() => JSON.stringify(window.seen)));

/** Waits until `check(window.seen)` holds in the page (`check` runs in the page). */
function until(page, check, what) {
  return page
    .waitForFunction(check, null, { timeout: WAIT, polling: 10 })
    .catch(async (e) => {
      throw new Error(`${what}: ${e.message}\nthe page saw: ${JSON.stringify(await seen(page))}`);
    });
}

/** The texts of the posted events the page's handler got. */
const texts = (s) => s.posted.map((p) => p.text);

/**
 * Cuts the page's connection at the proxy, and keeps the proxy refusing connections while
 * `away()` runs and until the page's client has retried at least once; then lets it back.
 */
async function cutWhile(page, proxy, away) {
  await proxy.cut();
  await until(page, () => window.seen.states.at(-1) === "reconnecting", "the page noticing the cut");
  const dropped = (await seen(page)).sockets[0];
  assert.deepEqual(dropped, { opened: true, close: { code: 1006, clean: false } }, "an abnormal close, no close frame");
  await away();
  await until(
    page,
    () => window.seen.sockets.some((s, i) => i > 0 && !s.opened && s.close),
    "a reconnect attempt refused while the server is unreachable",
  );
  await proxy.restore();
}

let browser;
const cleanup = [];
try {
  browser = await launchChromium(WAIT);
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT);

  /** A page of `room` on `route`, loaded through a proxy of its own. */
  async function openPage(name, route, room) {
    const proxy = await startProxy(SERVER);
    cleanup.push(() => proxy.close());
    const page = log.watch(await context.newPage(), name);
    const url = `${proxy.url.replace(/^ws:/, "http:")}/?route=${route}&room=${room}`;
    const response = await page.goto(url);
    assert.equal(response.status(), 200, `GET ${url}`);
    // A first connect is never recovered: the server says so, and gives the position.
    await until(page, () => window.seen.recoveries.length === 1, `${name}: the first connect's recovery frames`);
    const first = await seen(page);
    assert.equal(first.recoveries[0].recovered, false);
    assert.equal(first.streamRecoveries[0].groups[`room.${room}`].reason, "new");
    return { page, proxy };
  }

  // 1. Events posted while the page is away arrive when it is back, in order, once each,
  //    through the typed handler; then recovered=true; then live events.
  {
    const room = uniqueRoom("browser-cut");
    const { page, proxy } = await openPage("cut", "ws", room);
    const other = await sender("ws", room);
    cleanup.push(() => other.close());
    await other.post("before");
    await until(page, () => window.seen.posted.length === 1, "the live event before the cut");

    const missed = ["missed-1", "missed-2", "missed-3", "missed-4", "missed-5"];
    await cutWhile(page, proxy, async () => {
      for (const text of missed) await other.post(text);
    });
    await until(page, () => window.seen.recoveries.length === 2, "the reconnect's recovery frames");
    let s = await seen(page);
    assert.deepEqual(texts(s), ["before", ...missed], "the missed events, in order, once each");
    const ids = s.posted.map((p) => p.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "in the order they were posted");
    const [, outcome] = s.streamRecoveries;
    const group = outcome.groups[`room.${room}`];
    assert.deepEqual(outcome, {
      stream: "chat",
      recovered: true,
      groups: { [`room.${room}`]: { recovered: true, epoch: group.epoch, offset: 6, replayed: 5 } },
      after: 6,
    });
    assert.equal(group.epoch, s.streamRecoveries[0].groups[`room.${room}`].epoch, "the same stream");
    assert.deepEqual(s.recoveries[1], { stream: null, recovered: true, after: 6, now: true });
    assert.deepEqual(s.states, ["open", "reconnecting", "open"]);
    assert.ok(s.sockets.at(-1).opened && s.sockets.at(-1).close === null, "the last socket is open");

    await other.post("live");
    await until(page, () => window.seen.posted.length === 7, "the live event after the recovery");
    await sleep(100); // anything sent twice would come now
    s = await seen(page);
    assert.deepEqual(texts(s), ["before", ...missed, "live"]);
    assert.equal(s.recoveries.length, 2);
    console.log(`recovered ${missed.length} events after ${s.sockets.length - 1} reconnect attempts`);
  }

  // 2. Away longer than the history keeps events: recovered=false, too_old, and the page
  //    follows the room live from its new position.
  {
    const room = uniqueRoom("browser-ttl");
    const { page, proxy } = await openPage("ttl", "short", room);
    const other = await sender("short", room);
    cleanup.push(() => other.close());
    await other.post("before");
    await until(page, () => window.seen.posted.length === 1, "the live event before the cut");

    await cutWhile(page, proxy, async () => {
      await other.post("forgotten");
      await sleep(TTL + 500);
    });
    await until(page, () => window.seen.recoveries.length === 2, "the reconnect's recovery frame");
    let s = await seen(page);
    const outcome = s.recoveries[1];
    assert.equal(outcome.recovered, false);
    assert.equal(outcome.now, false, "connection.recovered");
    assert.equal(outcome.stream, null, "the socket's one stream");
    assert.deepEqual(outcome.groups[`room.${room}`], {
      recovered: false,
      reason: "too_old",
      epoch: outcome.groups[`room.${room}`].epoch,
      offset: 2,
    });
    assert.deepEqual(texts(s), ["before"], "nothing of what was forgotten");

    await other.post("after");
    await until(page, () => window.seen.posted.length === 2, "a live event after the failed recovery");
    s = await seen(page);
    assert.deepEqual(texts(s), ["before", "after"]);
    assert.deepEqual(s.states, ["open", "reconnecting", "open"]);
  }

  // The refused attempts are logged by Chromium itself, as a page's console errors.
  assert.deepEqual(log.errors(/ERR_CONNECTION_REFUSED/), [], "no page errors");
} catch (error) {
  console.error(`browser recovery failed: ${error?.stack || error}\n${log.dump()}`);
  process.exitCode = 1;
} finally {
  for (const step of cleanup.reverse()) await Promise.resolve(step()).catch((e) => console.error(`cleanup: ${e}`));
  await browser?.close().catch((e) => console.error(`closing the browser: ${e}`));
}
