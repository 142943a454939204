// End to end: an app event through the generated trading client (generated/trading/client.*)
// in Node, against the real trading server (uvicorn generated.trading.routing:application).
//
// `tick` is an app event of the trading floor. An Orders socket places an order; the floor's
// Ticker socket, the Orders socket itself and both tick-listing streams of a Desk socket get
// the tick through their own typed `on.tick`; FloorChat lists no tick and gets none.
//
// tests/test_app_events.py runs this file on the shipped client.js and on client.ts compiled
// by tsc. Environment: CHGEN_URL (ws://127.0.0.1:PORT), CHGEN_CLIENT (the module's path).
// Every wait is bounded: each test has a node:test timeout, each await goes through within().

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { env, loadClient, uniqueRoom, waitFor, whenState, within, WebSocket } from "./e2e_util.mjs";

const BASE = env("CHGEN_URL");
const M = await loadClient();

const T = { timeout: 15_000 }; // per test
const WAIT = 5_000; // per wait
const QUIET = 300; // ms a socket must stay silent to show it received nothing

const clients = new Set();
after(() => {
  for (const client of clients) client.close();
});

async function open(Class, url) {
  const client = new Class(url, { WebSocket });
  clients.add(client);
  await whenState(client, "open", WAIT);
  return client;
}

describe(`app events through ${env("CHGEN_CLIENT")} against ${BASE}`, () => {
  test("a tick sent by Orders reaches every member whose consumer lists it, in its stream", T, async () => {
    const floor = uniqueRoom("floor");
    const ticker = await open(M.TickerSocket, M.tickerUrl(BASE, { floor }));
    const orders = await open(M.OrdersSocket, M.ordersUrl(BASE, { floor }));
    const chat = await open(M.FloorChatSocket, M.floorChatUrl(BASE, { floor }));
    const desk = await open(M.DeskClient, M.deskUrl(BASE, { floor }));

    const ticks = { ticker: [], orders: [], deskTicker: [], deskOrders: [] };
    ticker.on.tick((data) => ticks.ticker.push(data));
    orders.on.tick((data) => ticks.orders.push(data));
    desk.ticker.on.tick((data) => ticks.deskTicker.push(data));
    desk.orders.on.tick((data) => ticks.deskOrders.push(data));
    const atChat = [];
    chat.onAny((event) => atChat.push(event));
    desk.chat.onAny((event) => atChat.push(event));

    const order = { symbol: "ACME", side: "buy", quantity: 5, price: 9.5 };
    const ack = await within(orders.request.order(order), WAIT, "the order's reply");
    assert.equal(typeof ack.order, "number");
    const tick = { symbol: "ACME", price: 9.5 };
    await waitFor(() => Object.values(ticks).every((seen) => seen.length === 1), WAIT, "four ticks");
    for (const seen of Object.values(ticks)) assert.deepEqual(seen, [tick]);

    await new Promise((resolve) => setTimeout(resolve, QUIET));
    assert.deepEqual(atChat, [], "FloorChat lists no tick");
    assert.deepEqual(
      Object.values(ticks).map((seen) => seen.length),
      [1, 1, 1, 1],
      "each member got the tick once per stream listing it",
    );
  });
});
