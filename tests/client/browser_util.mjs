// Helpers shared by the headless Chromium scripts (browser_e2e.mjs, browser_recovery.mjs):
// launching Debian's Chromium through playwright-core, collecting what the pages say, and the
// watchdog that ends a run that hangs.
//
// Environment: CHGEN_CHROMIUM, the Chromium binary (default /usr/bin/chromium).

import { chromium } from "playwright-core";

/** Headless Chromium; `timeout` bounds its launch. */
export function launchChromium(timeout) {
  return chromium.launch({
    executablePath: process.env.CHGEN_CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-quic",
      "--disable-sync",
    ],
    timeout,
  });
}

/**
 * Every page's console output, errors, failed requests and WebSockets, in the order they
 * happened: `watch(page, name)` starts recording a page, `dump()` is the transcript a failure
 * prints, `errors(ignore)` the page errors and console.error lines not matching `ignore`.
 */
export function pageLog() {
  const lines = [];
  return {
    lines,
    watch(page, name) {
      page.on("console", (m) => {
        const where = m.location()?.url;
        lines.push(`[${name}] console.${m.type()}: ${m.text()}${where ? ` (${where})` : ""}`);
      });
      page.on("pageerror", (e) => lines.push(`[${name}] page error: ${e.stack || e.message}`));
      page.on("requestfailed", (r) => lines.push(`[${name}] request failed: ${r.url()} ${r.failure()?.errorText}`));
      page.on("websocket", (ws) => {
        lines.push(`[${name}] websocket ${ws.url()}`);
        ws.on("close", () => lines.push(`[${name}] websocket closed ${ws.url()}`));
      });
      return page;
    },
    dump() {
      return `--- page console and errors\n${lines.join("\n") || "(nothing)"}`;
    },
    errors(ignore = /$^/) {
      return lines.filter((line) => /page error|console\.error/.test(line) && !ignore.test(line));
    },
  };
}

/**
 * The last resort: whatever hangs, print `report()` and leave after `ms` (the browser is a
 * child process and dies with us).
 */
export function startWatchdog(ms, name, report) {
  const timer = setTimeout(() => {
    console.error(`${name}: still running after ${ms} ms\n${report()}`);
    process.exit(2);
  }, ms);
  timer.unref();
}
