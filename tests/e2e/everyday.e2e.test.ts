/**
 * The everyday commands (#14 item 9) as a user types them, with the built
 * `loom` on a fresh embedded project: list with filters, show, dep add (and a
 * cycle refused), dep rm unblocking a task, next, message and inbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

// Each step is a `loom` process (the first also starts the daemon): seconds each on a loaded machine.
const TIMEOUT_MS = 300_000;

describe('everyday commands end to end (embedded)', { timeout: TIMEOUT_MS }, () => {
  let dir: string;
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60', USER: 'alice', LOOM_AGENT_ID: '' };
  const run = (args: string[], extra: Record<string, string> = {}) => loom(dir, args, { ...env, ...extra });
  const json = <T = any>(args: string[], extra: Record<string, string> = {}) => loomJson<T>(dir, args, { ...env, ...extra });
  const ok = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await run(args, extra);
    if (r.code !== 0) throw new Error(`loom ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-e2e-everyday-'));
    await json(['init', '--name', 'everyday']);
  });
  afterAll(async () => {
    await run(['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists, shows, edits dependencies, picks the next task, and passes messages', async () => {
    const design = await json(['create', 'Design the LOGIN form', '--priority', 'p0']);
    const build = await json(['create', 'Build login: 100% done_when', '--depends-on', design.id]);
    const docs = await json(['create', 'Write docs']);

    // list: filters by status and by title text (any case; % and _ are plain characters)
    const [all, blocked, search, literal] = await Promise.all([
      json<any[]>(['list']),
      json<any[]>(['list', '--status', 'blocked']),
      json<any[]>(['list', '--search', 'login']),
      json<any[]>(['list', '--search', '100%_']),
    ]);
    expect(all.map((t) => t.id)).toEqual([design.id, build.id, docs.id]);
    expect(blocked.map((t) => t.id)).toEqual([build.id]);
    expect(search.map((t) => t.id)).toEqual([design.id, build.id]);
    expect(literal).toEqual([]);
    const table = await ok(['list', '--status', 'pending,blocked']);
    expect(table).toMatch(new RegExp(`^${build.id}\\s+blocked\\s+p1\\s+1\\s+Build login`, 'm'));
    const bad = await run(['list', '--status', 'open']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('VALIDATION_FAILED');

    // dep add: docs waits for build too; an edge back from design to docs would close a cycle
    const added = await json(['dep', 'add', docs.id, build.id]);
    expect(added).toMatchObject({ status: 'blocked', depends_on: [build.id] });
    const cycle = await run(['dep', 'add', design.id, docs.id]);
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toContain('DEPENDENCY_CYCLE');

    // show: dependencies and dependents with status and title, and the task's history, newest last
    const shown = await ok(['show', build.id]);
    expect(shown).toMatch(new RegExp(`depends on \\(1\\)\\n.*\\n\\s+${design.id}\\s+pending\\s+p0\\s+Design the LOGIN form`));
    expect(shown).toMatch(new RegExp(`dependents \\(1\\)\\n.*\\n\\s+${docs.id}\\s+blocked\\s+p1\\s+Write docs`));
    const showJson = await json(['show', docs.id]);
    expect(showJson.history.map((e: any) => e.type)).toEqual(['task.created', 'task.updated', 'task.blocked']);

    // next: design, and finishing it unblocks build (which waits on nothing else); nothing is claimed
    const next = await json(['next']);
    expect(next.task.id).toBe(design.id);
    expect(next.unblocks.map((t: any) => t.id)).toEqual([build.id]);
    expect(await ok(['next'])).toContain(`finishing it unblocks 1 task:`);
    expect((await json(['status', design.id])).task.status).toBe('pending');

    // dep rm: docs stops waiting for build and is ready again
    const removed = await json(['dep', 'rm', docs.id, build.id]);
    expect(removed).toMatchObject({ status: 'pending', depends_on: [] });
    expect((await json<any[]>(['ready'])).map((t) => t.id)).toContain(docs.id);

    // message + inbox: from the user by default, to an agent; reading marks them read
    expect(await ok(['message', 'claude-2', 'rebase', 'on', 'main'])).toMatch(/^sent message \d+ from alice to claude-2$/m);
    await ok(['message', '*', 'freeze \u001b[2J now', '--from', 'bob']);
    const inbox = await ok(['inbox', '--agent', 'claude-2']);
    expect(inbox).toContain('2 unread messages for claude-2, now marked read:');
    expect(inbox).toContain('from alice');
    expect(inbox).toContain('rebase on main');
    expect(inbox).toContain('freeze \\u001b[2J now');
    expect(inbox).not.toContain('\u001b');
    const again = await json(['inbox'], { LOOM_AGENT_ID: 'claude-2' });
    expect(again).toEqual({ agent_id: 'claude-2', marked_read: 0, messages: [] });
  });

  it('labels: create --label, list --label (all given), update --add-label / --remove-label, ready --label, show', async () => {
    const bug = await json(['create', 'Fix the redirect', '--label', 'bug', '--label', 'area:auth']);
    const feat = await json(['create', 'Add SSO', '--label', 'area:auth']);
    expect(bug.labels).toEqual(['area:auth', 'bug']);
    expect((await json<any[]>(['list', '--label', 'area:auth'])).map((t) => t.id)).toEqual([bug.id, feat.id]);
    expect((await json<any[]>(['list', '--label', 'area:auth', '--label', 'bug'])).map((t) => t.id)).toEqual([bug.id]);
    const table = await ok(['list', '--label', 'area:auth']);
    expect(table).toMatch(/^ID\s+STATUS\s+PRI\s+DEPS\s+TITLE\s+LABELS$/m);
    expect(table).toMatch(new RegExp(`^${bug.id}\\s+pending\\s+p1\\s+0\\s+Fix the redirect\\s+area:auth,bug$`, 'm'));

    const edited = await json(['update', feat.id, '--add-label', 'bug', '--remove-label', 'area:auth']);
    expect(edited.labels).toEqual(['bug']);
    expect((await json<any[]>(['ready', '--label', 'bug'])).map((t) => t.id).sort()).toEqual([bug.id, feat.id].sort());
    expect((await json<any[]>(['list', '--label', 'area:auth'])).map((t) => t.id)).toEqual([bug.id]);
    expect(await ok(['show', bug.id])).toMatch(/^labels\s+area:auth, bug$/m);

    // A label is lower case: refused, naming the field, and nothing written
    const upper = await run(['create', 'Loud', '--label', 'Bug']);
    expect(upper.code).toBe(1);
    expect(upper.stderr).toMatch(/^VALIDATION_FAILED: .*labels/);
    expect((await json<any[]>(['list', '--search', 'Loud']))).toEqual([]);
  });
});
