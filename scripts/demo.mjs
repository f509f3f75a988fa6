#!/usr/bin/env node
// A first look at Loom: a project graph on the embedded default, worked by
// three agents (separate `loom` processes) that claim, heartbeat and complete
// tasks in dependency order at the same time.
//
//   npm run demo [-- DIR]
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const loomBin = fileURLToPath(new URL('../bin/loom.js', import.meta.url));
const dir = resolve(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'loom-demo-')));
const started = Date.now();
const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const log = (who, line) => console.log(`${stamp()}  ${who.padEnd(8)} ${line}`);

async function loom(...args) {
  try {
    const { stdout } = await run(process.execPath, [loomBin, ...args, '--project-dir', dir], { env: { ...process.env, LOOM_DATABASE_URL: '' } });
    return stdout;
  } catch (e) {
    throw new Error(`loom ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
const json = async (...args) => JSON.parse(await loom(...args, '--json'));

log('demo', `project directory ${dir}`);
await loom('init', '--name', 'search-feature');
const epic = (await json('create', 'Ship the search feature', '--epic', '--origin', 'demo:planner')).id;
const step = async (title, deps = [], priority = 'p1') =>
  (await json('create', title, '--parent', epic, '--priority', priority, '--origin', 'demo:planner', ...deps.flatMap((d) => ['--depends-on', d]))).id;
const spec = await step('Write the search spec', [], 'p0');
const api = await step('Build the search API', [spec]);
const ui = await step('Build the search box', [spec], 'p2');
const index = await step('Index existing documents', [spec]);
const tests = await step('End-to-end tests', [api, ui]);
const docs = await step('Document the API', [api]);
await step('Release', [tests, docs, index], 'p0');
log('demo', 'created an epic with 7 steps:');
console.log((await loom('graph', '--format', 'waves')).replace(/^/gm, '          '));

async function agent(name) {
  let completed = 0;
  for (;;) {
    const claim = await json('claim', '--agent', name, '--lease-seconds', '30');
    if (!claim.claimed) {
      const overview = await json('status');
      const open = overview.counts.pending + overview.counts.blocked + overview.counts.claimed;
      if (open === 0) return completed;
      await new Promise((r) => setTimeout(r, 150)); // others are still working: wait for unblocked work
      continue;
    }
    const { task, lease } = claim;
    log(name, `claimed  ${task.id}  ${task.title}`);
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 300)); // "working"
    await loom('heartbeat', task.id, '--agent', name, '--token', lease.token);
    const done = await json('done', task.id, '--agent', name, '--token', lease.token, '--output', JSON.stringify({ summary: `${name} finished ${task.title}` }));
    completed++;
    const extra = [
      done.unblocked.length > 0 ? `unblocked ${done.unblocked.join(', ')}` : '',
      done.completed_epics.length > 0 ? `completed epic ${done.completed_epics.join(', ')}` : '',
    ].filter(Boolean);
    log(name, `done     ${task.id}${extra.length > 0 ? `  (${extra.join('; ')})` : ''}`);
  }
}

const counts = await Promise.all(['ada', 'grace', 'linus'].map(agent));
const overview = await json('status');
console.log('');
console.log((await loom('graph', '--format', 'summary')).replace(/^/gm, '  '));
console.log(`\n  tasks done per agent: ada ${counts[0]}, grace ${counts[1]}, linus ${counts[2]}`);
console.log(`  finished in ${((Date.now() - started) / 1000).toFixed(1)}s; explore it with: loom status --project-dir ${dir}`);
await loom('daemon', 'stop');
const complete = overview.counts.done === overview.total;
if (!complete) console.error('the graph did not complete');
process.exit(complete ? 0 : 1);
