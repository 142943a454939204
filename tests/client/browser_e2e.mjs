// End to end in a browser: the example page (handlers/static/index.html, served with the
// generated client.js by `uvicorn handlers.page:application`) in headless Chromium.
//
// Two pages in one room and one page in another. Page A posts through its form; the post
// must show up in A's and B's #log, with the same id, and never in C's. Saves a screenshot
// of page B and prints its path.
//
// Environment (set by tests/test_client_e2e.py):
//   CHGEN_HTTP        the server, e.g. http://127.0.0.1:8000
//   CHGEN_CHROMIUM    the Chromium binary (default /usr/bin/chromium)
//   CHGEN_SCREENSHOT  where to save the screenshot of page B (default: a temp file)
// Exit code 0 on success; on failure the error and every page's console output go to stderr.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { launchChromium, pageLog, startWatchdog } from "./browser_util.mjs";
import { env, uniqueRoom } from "./e2e_util.mjs";

const BASE = env("CHGEN_HTTP");
const WAIT = 10_000; // per wait in a page
const OVERALL = 45_000;
const screenshot =
  process.env.CHGEN_SCREENSHOT || path.join(mkdtempSync(path.join(tmpdir(), "chgen-browser-")), "page-b.png");

const log = pageLog();
startWatchdog(OVERALL, "browser e2e", log.dump);

let browser;
try {
  browser = await launchChromium(WAIT);
  // A fresh context: its own temporary profile, no shared storage between runs.
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  context.setDefaultTimeout(WAIT);

  async function openPage(name, room) {
    const page = log.watch(await context.newPage(), name);
    const response = await page.goto(`${BASE}/?room=${room}`);
    assert.equal(response.status(), 200, `GET /?room=${room}`);
    await page.waitForSelector('body[data-state="open"]');
    assert.equal(await page.textContent("#state"), "open", `${name}: #state`);
    assert.equal(await page.textContent("#room"), room, `${name}: #room`);
    return page;
  }

  /** The posts in a page's #log: [{id, text}], in order. */
  const posts = (page) =>
    page.$$eval("#log li", (items) => items.map((li) => ({ id: li.dataset.id, text: li.textContent })));

  /** Waits until `text` is in the page's #log. */
  const shows = (page, text) =>
    page.waitForFunction(
      (t) => [...document.querySelectorAll("#log li")].some((li) => li.textContent === t),
      text,
      { timeout: WAIT },
    );

  /** Types `text` into the form and submits it with Enter. */
  async function post(page, text) {
    await page.fill("#text", text);
    await page.press("#text", "Enter");
  }

  const room = uniqueRoom("browser");
  const elsewhere = uniqueRoom("elsewhere");
  const [a, b, c] = [await openPage("A", room), await openPage("B", room), await openPage("C", elsewhere)];

  const text = `hello from A ${Date.now()}`;
  await post(a, text);
  await shows(b, text);
  await shows(a, text);
  const [atA, atB] = [await posts(a), await posts(b)];
  assert.equal(atA.length, 1, JSON.stringify(atA));
  assert.deepEqual(atB, atA, "both pages of the room show the same post, with the same id");
  assert.match(atA[0].id, /^\d+$/, "data-id is the Ack's id");
  // The request succeeded: the page cleared the input and shows no error.
  await a.waitForFunction(() => document.getElementById("text").value === "", null, { timeout: WAIT });
  assert.equal(await a.textContent("#error"), "");

  // B answers through the same room.
  const reply = `reply from B ${Date.now()}`;
  await post(b, reply);
  await shows(a, reply);
  await shows(b, reply);

  // C's page works (it shows its own room's post) but never showed room A's.
  const own = `in the other room ${Date.now()}`;
  await post(c, own);
  await shows(c, own);
  assert.deepEqual((await posts(c)).map((p) => p.text), [own]);
  assert.deepEqual((await posts(a)).map((p) => p.text), [text, reply]);
  assert.deepEqual((await posts(b)).map((p) => p.text), [text, reply]);

  for (const page of [a, b, c]) {
    assert.equal(await page.getAttribute("body", "data-state"), "open");
    assert.equal(await page.textContent("#error"), "");
  }

  // The server's error reaches the page as a ChgenError: C posts 2001 characters (past the
  // input's maxlength, which only guards typing).
  await c.evaluate(() => document.getElementById("text").removeAttribute("maxlength"));
  await c.fill("#text", "x".repeat(2001));
  await c.press("#text", "Enter");
  await c.waitForFunction(() => document.getElementById("error").textContent !== "", null, { timeout: WAIT });
  assert.match(await c.textContent("#error"), /^invalid: ./, "the page shows code: message");
  assert.equal((await c.inputValue("#text")).length, 2001, "a failed post keeps the input");
  assert.deepEqual((await posts(c)).map((p) => p.text), [own]);
  assert.equal(await c.getAttribute("body", "data-state"), "open", "an error does not close the socket");
  await b.screenshot({ path: screenshot });
  console.log(`screenshot of page B: ${screenshot}`);
  // The server serves / and /client.js only: the browser's own favicon request is a 404.
  assert.deepEqual(log.errors(/\/favicon\.ico/), [], "no page errors");
} catch (error) {
  console.error(`browser e2e failed: ${error?.stack || error}\n${log.dump()}`);
  process.exitCode = 1;
} finally {
  await browser?.close().catch((e) => console.error(`closing the browser: ${e}`));
}
