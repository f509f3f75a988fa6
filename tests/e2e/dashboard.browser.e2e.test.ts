/**
 * The dashboard in a real browser (Debian's chromium through playwright-core),
 * against the built `loom dashboard` on the embedded store: it opens with the
 * printed address and draws the graph; a task completed through the CLI
 * turns its node done on the page (pushed by SSE); an escalation resolved
 * from the page shows in `loom status`; nothing answers without the token;
 * a screenshot is saved to a temp directory; a click on a node shows the
 * task's details. A second dashboard draws the same project with the layered
 * layout of big graphs (LOOM_DASHBOARD_LAYERED_FROM=1) and follows it live
 * the same way. How fast the node changes is
 * measured by `npm run bench:dashboard`, not asserted here.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import { LoomProcess } from '../support/dashboard-process.js';
import { loom, loomJson } from '../support/loom-cli.js';

const WAIT_MS = 60_000;

describe.skipIf(!chromiumAvailable())('loom dashboard in chromium', () => {
  let dir: string;
  let shots: string;
  let proc: LoomProcess;
  let url: string;
  let browser: Browser;
  const ids: Record<string, string> = {};
  let lease = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-dash-'));
    shots = mkdtempSync(join(tmpdir(), 'loom-dash-shots-'));
    await loomJson(dir, ['init', '--name', 'dashboard-e2e']);
    ids.spec = (await loomJson(dir, ['create', 'Write the spec', '--priority', 'p0'])).id;
    ids.api = (await loomJson(dir, ['create', 'Build the API', '--depends-on', ids.spec!])).id;
    ids.docs = (await loomJson(dir, ['create', 'Document it', '--depends-on', ids.api!])).id;
    ids.auth = (await loomJson(dir, ['create', 'Pick the auth scheme'])).id;
    const claim = await loomJson(dir, ['claim', ids.spec!, '--agent', 'alice']);
    lease = claim.task.lease_token;
    await loomJson(dir, ['escalate', ids.auth!, '--message', 'OAuth or API keys?']);
    const started = await LoomProcess.start(dir, ['dashboard', '--no-open']);
    proc = started.proc;
    url = started.ready.url;
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await proc?.stop();
    await loom(dir, ['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
    rmSync(shots, { recursive: true, force: true });
  }, 60_000);

  it('answers 401 without the token, and to a wrong one', async () => {
    const base = new URL(url);
    const bare = `${base.origin}/dashboard`;
    expect((await fetch(`${bare}/`)).status).toBe(401);
    expect((await fetch(`${bare}/api/state`)).status).toBe(401);
    expect((await fetch(`${bare}/api/events`)).status).toBe(401);
    expect((await fetch(`${bare}/?token=${'0'.repeat(64)}`, { redirect: 'manual' })).status).toBe(401);
    expect((await fetch(`${bare}/api/state`, { headers: { cookie: `loom_dashboard=${'a'.repeat(64)}` } })).status).toBe(401);
  });

  it('shows the graph, follows a CLI done within the bound, resolves an escalation, and saves a screenshot', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') failures.push(m.text());
    });
    await page.goto(url);
    // The token was swapped for a cookie and is gone from the address.
    expect(page.url()).not.toContain('token=');
    await page.waitForSelector('body[data-graph="ready"]', { timeout: WAIT_MS });
    for (const id of Object.values(ids)) await page.waitForSelector(`#graph-stage g.node[id="${id}"]`, { timeout: WAIT_MS });
    expect(await page.getAttribute(`g.node[id="${ids.spec}"]`, 'data-status')).toBe('claimed');
    await page.waitForSelector('#live.on', { timeout: WAIT_MS });
    expect(await page.textContent('#claims')).toContain(ids.spec);
    expect(await page.textContent('#claims')).toMatch(/\d+:\d\d left/);

    // Lease tokens are never shown, nor sent to the page.
    const state = await page.evaluate(async () => (await fetch('/dashboard/api/state')).text());
    expect(state).toContain(ids.spec);
    expect(state).not.toContain(lease);
    expect(state).not.toContain('lease_token');

    const done = await loom(dir, ['done', ids.spec!, '--agent', 'alice', '--token', lease]);
    expect(done.code, done.stderr).toBe(0);
    await page.waitForSelector(`g.node[id="${ids.spec}"][data-status="done"]`, { timeout: WAIT_MS });
    await page.waitForSelector(`g.node[id="${ids.api}"][data-status="pending"]`, { timeout: WAIT_MS });
    await page.waitForSelector(`#event-list >> text=task.done`, { timeout: WAIT_MS });
    expect(await page.content()).not.toContain(lease);

    // Resolve the escalation from the page: the task is done, as `loom status` says.
    expect((await loomJson(dir, ['status', ids.auth!])).task.status).toBe('blocked');
    await page.click(`#escalations li[data-task="${ids.auth}"] button[data-action="done"]`);
    await page.waitForSelector(`g.node[id="${ids.auth}"][data-status="done"]`, { timeout: WAIT_MS });
    expect((await loomJson(dir, ['status', ids.auth!])).task.status).toBe('done');
    expect((await loomJson(dir, ['escalations'])).length ?? (await loomJson(dir, ['escalations'])).escalations.length).toBe(0);
    await page.waitForSelector('#escalations >> text=No open escalation.', { timeout: WAIT_MS });

    // A click on a node shows that task's details, its dependencies and dependents.
    await page.click(`#graph-stage g.node[id="${ids.api}"]`);
    await page.waitForSelector(`#details[data-task="${ids.api}"] >> text=Build the API`, { timeout: WAIT_MS });
    expect(await page.textContent('#details')).toContain(ids.spec);
    expect(await page.textContent('#details')).toContain(ids.docs);
    expect(await page.getAttribute(`g.node[id="${ids.api}"]`, 'class')).toContain('selected');
    await page.click('#details button.close');
    await page.waitForSelector('#details', { state: 'hidden', timeout: WAIT_MS });

    const shot = join(shots, 'dashboard.png');
    await page.screenshot({ path: shot });
    expect(existsSync(shot) && statSync(shot).size > 10_000).toBe(true);
    if (process.env.LOOM_DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.LOOM_DASHBOARD_SCREENSHOT });
    expect(failures).toEqual([]);
    await context.close();
  }, 240_000);

  it('draws big graphs in layers, with the same live colours, critical path and details', async () => {
    const layered = await LoomProcess.start(dir, ['dashboard', '--no-open'], { LOOM_DASHBOARD_LAYERED_FROM: '1' });
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    try {
      const page = await context.newPage();
      const failures: string[] = [];
      page.on('pageerror', (e) => failures.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') failures.push(m.text());
      });
      await page.goto(layered.ready.url);
      await page.waitForSelector('body[data-graph="ready"]', { timeout: WAIT_MS });
      expect(await page.getAttribute('#graph-stage svg', 'class')).toBe('layered');
      for (const id of Object.values(ids)) await page.waitForSelector(`#graph-stage g.node[id="${id}"]`, { timeout: WAIT_MS });
      expect(await page.getAttribute(`g.node[id="${ids.spec}"]`, 'data-status')).toBe('done');
      expect(await page.getAttribute(`g.node[id="${ids.api}"]`, 'data-status')).toBe('pending');
      // Nodes in view are labelled (a layered graph labels only those near the view).
      for (const id of Object.values(ids)) expect(await page.isVisible(`g.node[id="${id}"] text >> nth=0`)).toBe(true);
      // api then docs: the open chain, drawn as the critical path.
      expect(await page.getAttribute(`g.node[id="${ids.api}"]`, 'class')).toContain('critical');
      expect(await page.getAttribute(`g.node[id="${ids.docs}"]`, 'class')).toContain('critical');
      await page.waitForSelector('#live.on', { timeout: WAIT_MS });

      const claim = await loomJson(dir, ['claim', ids.api!, '--agent', 'bob']);
      await page.waitForSelector(`g.node[id="${ids.api}"][data-status="claimed"]`, { timeout: WAIT_MS });
      expect(await page.getAttribute(`g.node[id="${ids.api}"] rect`, 'fill')).toBe('#fff3bf');
      const done = await loom(dir, ['done', ids.api!, '--agent', 'bob', '--token', claim.task.lease_token]);
      expect(done.code, done.stderr).toBe(0);
      await page.waitForSelector(`g.node[id="${ids.api}"][data-status="done"]`, { timeout: WAIT_MS });
      expect(await page.textContent(`g.node[id="${ids.api}"] text:last-of-type`)).toBe('done');
      await page.waitForSelector(`g.node[id="${ids.docs}"][data-status="pending"]`, { timeout: WAIT_MS });

      await page.click(`#graph-stage g.node[id="${ids.docs}"]`);
      await page.waitForSelector(`#details[data-task="${ids.docs}"] >> text=Document it`, { timeout: WAIT_MS });
      expect(await page.textContent('#details')).toContain(ids.api);
      expect(await page.content()).not.toContain(claim.task.lease_token);
      expect(failures).toEqual([]);
    } finally {
      await context.close();
      await layered.proc.stop();
    }
  }, 240_000);
});
