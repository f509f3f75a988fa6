/**
 * `loom graph --format svg|html` end to end on a 200-task embedded project,
 * with the built binary and Debian's chromium: the SVG parses as SVG with one
 * node per task; the HTML page opens with no console error and no request
 * leaving it, and a click on a task shows its details (never a lease token).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import { loom, loomJson } from '../support/loom-cli.js';

const TEST_TIMEOUT_MS = 600_000;
const EPICS = 4;
const PER_EPIC = 50;
/** Under 40 characters, so the label shows it whole. */
const HOSTILE = `<script>pwned=1</script>"q" \\N a\\b ü🚀`;

/** A plan of 50 tasks: chains of five, with some edges across the chains (and the first task waiting on `after`). */
function plan(e: number, after: string | null): unknown {
  return {
    title: `Epic ${e}`,
    tasks: Array.from({ length: PER_EPIC }, (_, i) => {
      const deps = [...(i % 5 === 0 ? [] : [`t${i - 1}`]), ...(i >= 7 && i % 3 === 0 ? [`t${i - 7}`] : []), ...(i === 0 && after !== null ? [after] : [])];
      return { key: `t${i}`, title: i === 3 ? HOSTILE : `Step ${i} of epic ${e}`, ...(deps.length > 0 ? { depends_on: deps } : {}) };
    }),
  };
}

// Skipped only outside CI: .ci/run installs chromium, so there a missing browser fails loudly.
describe.skipIf(!chromiumAvailable() && process.env.CI !== 'true')('loom graph --format svg|html (built binary, 200 tasks, chromium)', () => {
  let dir: string;
  let home: string;
  let env: Record<string, string>;
  let browser: Browser;
  let epicIds: string[] = [];
  let taskIds: string[] = [];
  let claimed: { id: string; token: string };
  let held: string;
  const run = (args: string[]) => loom(dir, args, env);
  const json = <T = any>(args: string[]) => loomJson<T>(dir, args, env);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-graph-e2e-'));
    home = mkdtempSync(join(tmpdir(), 'loom-graph-home-'));
    env = { LOOM_HOME: home, LOOM_DAEMON_IDLE_SECONDS: '120' };
    await json(['init', '--name', 'graph <pictures> & "co"']);
    let after: string | null = null;
    for (let e = 0; e < EPICS; e++) {
      writeFileSync(join(dir, `plan${e}.json`), JSON.stringify(plan(e, after)));
      const r = await json<{ epic_id: string; tasks: Record<string, string> }>(['decompose', '--plan', `plan${e}.json`, '--apply']);
      epicIds.push(r.epic_id);
      taskIds.push(...Object.values(r.tasks));
      after = r.tasks[`t${PER_EPIC - 1}`]!;
    }
    const c = await json<{ task: { id: string; lease_token: string } }>(['claim', '--agent', 'alice']);
    claimed = { id: c.task.id, token: c.task.lease_token };
    held = taskIds[7]!;
    await json(['hold', held, '--reason', 'waiting for <legal> & "ops"']);
    browser = await launchChromium();
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await run(['daemon', 'stop']);
    for (const d of [dir, home]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
  });

  it('has the 200 tasks it is about', () => {
    expect(taskIds).toHaveLength(EPICS * PER_EPIC);
    expect(epicIds).toHaveLength(EPICS);
  });

  it('writes a valid SVG with one node per task, the held task marked held', async () => {
    const r = await run(['graph', '--format', 'svg', '-o', 'graph.svg']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*graph\.svg: 204 nodes \(204 tasks\), \d+ edges, critical path \d+ tasks/);
    const svg = readFileSync(join(dir, 'graph.svg'), 'utf8');
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain(claimed.token);
    const page = await browser.newPage();
    try {
      await page.goto(`file://${join(dir, 'graph.svg')}`);
      // Runs in the page (no DOM types in this project's tsconfig).
      const seen = await page.evaluate(() => {
        const { document: doc, pwned } = globalThis as any;
        return {
          root: doc.documentElement.nodeName as string,
          namespace: doc.documentElement.namespaceURI as string,
          parseErrors: doc.getElementsByTagName('parsererror').length as number,
          nodes: Array.from(doc.querySelectorAll('g.node') as ArrayLike<any>).map((g) => ({ id: g.id as string, cls: (g.getAttribute('class') ?? '') as string, text: (g.textContent ?? '') as string })),
          pwned: (pwned ?? 0) as number,
        };
      });
      expect(seen).toMatchObject({ root: 'svg', namespace: 'http://www.w3.org/2000/svg', parseErrors: 0, pwned: 0 });
      expect(seen.nodes.map((n) => n.id).sort()).toEqual([...taskIds, ...epicIds].sort());
      expect(seen.nodes.find((n) => n.id === held)?.cls).toMatch(/\bheld\b/);
      expect(seen.nodes.find((n) => n.id === claimed.id)?.text).toContain('claimed, by alice');
      expect(seen.nodes.some((n) => n.text.includes(HOSTILE))).toBe(true);
      expect(seen.nodes.filter((n) => /\bcritical\b/.test(n.cls)).length).toBeGreaterThanOrEqual(2);
    } finally {
      await page.close();
    }
    // One epic: its subtree only.
    const one = await run(['graph', '--format', 'svg', '--epic', epicIds[1]!]);
    expect(one.code).toBe(0);
    expect(one.stdout.match(/<g id="loom(?:-|&#45;)[0-9a-f]{8}" class="node/g)).toHaveLength(PER_EPIC + 1);
  }, TEST_TIMEOUT_MS);

  it('writes an HTML page that opens offline with no console error, and shows a task on click', async () => {
    const r = await run(['graph', '--format', 'html', '-o', 'graph.html']);
    expect(r.code).toBe(0);
    const html = readFileSync(join(dir, 'graph.html'), 'utf8');
    expect(html).not.toContain(claimed.token);
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    const left: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file://')) return route.continue();
      left.push(url);
      return route.abort();
    });
    try {
      await page.goto(`file://${join(dir, 'graph.html')}`, { waitUntil: 'load' });
      expect(await page.title()).toBe('Loom graph of graph <pictures> & "co"');
      expect(await page.locator('g.node').count()).toBe(EPICS * PER_EPIC + EPICS);
      await page.locator(`g.node[id="${held}"]`).click();
      const details = page.locator('#details');
      await expect.poll(() => details.innerText(), { timeout: 30_000 }).toContain(held);
      const text = await details.innerText();
      expect(text).toMatch(/status\s+blocked \(held\)|status\s+pending \(held\)/);
      expect(text).toContain('waiting for <legal> & "ops"');
      expect(text).toMatch(/Dependencies \(\d+\)/);
      await page.locator(`g.node[id="${claimed.id}"]`).click();
      await expect.poll(() => details.innerText(), { timeout: 30_000 }).toContain(claimed.id);
      expect(await details.innerText()).toMatch(/lease holder\s+alice/);
      expect(await page.content()).not.toContain(claimed.token);
      expect(await page.evaluate(() => ((globalThis as any).pwned ?? 0) as number)).toBe(0);
      expect(problems).toEqual([]);
      expect(left).toEqual([]);
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('writes DOT, and refuses a bad --epic with a code', async () => {
    const dot = await run(['graph', '--format', 'dot']);
    expect(dot.code).toBe(0);
    expect(dot.stdout).toMatch(/^digraph loom \{/);
    const bad = await run(['graph', '--format', 'svg', '--epic', taskIds[0]!]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^VALIDATION_FAILED: .* is not an epic/);
    const missing = await run(['graph', '--format', 'html', '--epic', 'loom-00000000']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^TASK_NOT_FOUND/);
  }, TEST_TIMEOUT_MS);
});
