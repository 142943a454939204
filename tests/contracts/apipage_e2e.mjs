// The example app's api.html in headless Chromium, and its example frames against the
// running server.
//
// The page must render offline (no request leaves file://), every internal link must
// name an element of the page, the search box must filter, and every example frame a
// client sends must get an answer from the server that is not an error.
//
// Environment (set by tests/test_contract_page.py):
//   CHGEN_PAGE        the api.html file
//   CHGEN_WS          the server, e.g. ws://127.0.0.1:8000
//   CHGEN_CHROMIUM    the Chromium binary (default /usr/bin/chromium)
//   CHGEN_SCREENSHOT  where to save a screenshot of the page (optional)
// Prints one JSON line {"links", "frames", "answered"}; exit code 0 on success.

import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { launchChromium } from "../client/browser_util.mjs";
import WebSocket from "ws";

const PAGE = process.env.CHGEN_PAGE;
const WS = process.env.CHGEN_WS;
const WAIT = 10_000;
const watchdog = setTimeout(() => {
  console.error("api page e2e: still running after 45 s");
  process.exit(2);
}, 45_000);
watchdog.unref();

const browser = await launchChromium(WAIT);
let frames;
let links;
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  const outside = [];
  const errors = [];
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) outside.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(pathToFileURL(PAGE).href);

  assert.match(await page.title(), /API reference/);
  for (const id of ["routes", "payloads", "errors"]) {
    assert.ok(await page.$(`#${id}`), `section #${id}`);
  }
  // Every internal link resolves to an element of the page.
  links = await page.$$eval('a[href^="#"]', (as) =>
    as.map((a) => ({ href: a.getAttribute("href"), found: !!document.getElementById(decodeURIComponent(a.getAttribute("href").slice(1))) })),
  );
  const broken = links.filter((l) => !l.found).map((l) => l.href);
  assert.deepEqual(broken, [], "internal links without a target");
  assert.ok(links.length > 5, `only ${links.length} internal links`);

  // The search box keeps what matches, and a route while one of its messages matches.
  await page.fill("#search", "posted");
  const shown = async (id) => page.evaluate((i) => !document.getElementById(i).closest("[hidden]"), id);
  assert.equal(await shown("payload--Posted"), true, "Posted stays");
  assert.equal(await shown("payload--Post"), false, "Post is filtered out");
  assert.equal(await shown("route--lobby"), true, "its route stays");
  await page.fill("#search", "no such name at all");
  assert.equal(await page.isVisible("#no-match"), true, "says nothing matches");
  await page.fill("#search", "");
  assert.equal(await shown("payload--Post"), true, "an empty search shows everything");

  if (process.env.CHGEN_SCREENSHOT) await page.screenshot({ path: process.env.CHGEN_SCREENSHOT, fullPage: true });
  frames = await page.$$eval('pre.frame[data-role="request"]', (pres) =>
    pres.map((p) => ({ path: p.dataset.path, frame: JSON.parse(p.textContent) })),
  );
  assert.deepEqual(outside, [], "the page loads nothing from elsewhere");
  assert.deepEqual(errors, [], "the page's script raises nothing");
} finally {
  await browser.close();
}

/** Send one example frame on its own socket; resolve with the answer to its id. */
function answer({ path, frame }) {
  return new Promise((resolve, reject) => {
    const origin = WS.replace(/^ws/, "http");
    const ws = new WebSocket(WS + path, { headers: { Origin: origin } });
    const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(frame)}`)), WAIT);
    ws.on("open", () => ws.send(JSON.stringify(frame)));
    ws.on("error", (e) => reject(e));
    ws.on("message", (data) => {
      const got = JSON.parse(String(data));
      const inner = got.stream !== undefined ? got.payload : got;
      const id = frame.stream !== undefined ? frame.payload.id : frame.id;
      if (inner.id !== id) return; // an event for the room, not the answer
      clearTimeout(timer);
      ws.close();
      resolve(got);
    });
  });
}

assert.ok(frames.length > 0, "no example frames on the page");
let answered = 0;
for (const example of frames) {
  const got = await answer(example);
  const inner = got.stream !== undefined ? got.payload : got;
  assert.notEqual(inner.type, "error", `${JSON.stringify(example.frame)} was refused: ${JSON.stringify(got)}`);
  answered += 1;
}
console.log(JSON.stringify({ links: links.length, frames: frames.length, answered }));
process.exit(0);
