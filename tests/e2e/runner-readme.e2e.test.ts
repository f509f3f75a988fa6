/**
 * #14 item 11: the README's agent-runner example, run as written, from a
 * checkout without `npm link` (no `loom` anywhere on PATH). `claude` is a
 * stand-in that does what the prompt asks at the end: it runs the "When
 * finished run:" command with `<json>` filled in. Before, the job's `loom`
 * was not found (exit 127) and every task became a dead letter; now the
 * runner puts this same Loom on the job's PATH. A run that leaves dead
 * letters exits 3, and --exit-when-idle says what it waits for.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loom, loomJson, ROOT } from '../support/loom-cli.js';

const README_RUN = /--run '(claude -p "Do loom task \{task_id\}: \{title\}\. When finished run: loom done[^']*)'/;

describe("the README's runner example, without npm link", () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-runner-readme-'));
  const bin = join(dir, 'fake-bin');
  // PATH with a stand-in claude and the system's tools, and no loom: only what the runner adds.
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60', LOOM_HOME: join(dir, 'home'), PATH: `${bin}:/usr/bin:/bin` };
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every task to done through the loom the runner provides', { timeout: 300_000 }, async () => {
    const example = README_RUN.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(example, 'the README still shows the --run example').not.toBeNull();
    mkdirSync(bin);
    // claude -p PROMPT: run what follows "When finished run: ", with <json> made a real JSON object.
    writeFileSync(
      join(bin, 'claude'),
      `#!/bin/sh\nprompt="$2"\ncmd=$(printf '%s' "$prompt" | sed -e 's/^.*When finished run: //' -e "s/<json>/'{\\"by\\":\\"claude\\"}'/")\nexec sh -c "$cmd"\n`,
    );
    chmodSync(join(bin, 'claude'), 0o755);
    await loomJson(dir, ['init', '--name', 'readme-runner'], env);
    const ids = (await Promise.all(['write the parser', 'write the docs'].map((t) => loomJson(dir, ['create', t], env)))).map((t: { id: string }) => t.id);

    const r = await loom(dir, ['orchestrate', '--concurrency', '2', '--timeout', '120', '--exit-when-idle', '--run', example![1]!], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/runner finished: done 2, failed 0/);
    expect(r.stdout).toContain('idle: nothing ready, claimed or waiting to retry; exiting');
    for (const id of ids) {
      const { task } = await loomJson(dir, ['status', id], env);
      expect(task).toMatchObject({ status: 'done', output: { by: 'claude' } });
    }
  });

  it('exits 3 when tasks it ran became dead letters, naming them', { timeout: 300_000 }, async () => {
    const t = await loomJson(dir, ['create', 'always fails', '--max-attempts', '1'], env);
    const r = await loom(dir, ['orchestrate', '--exit-when-idle', '--run', 'echo broken >&2; exit 1'], env);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toContain(`dead letters: ${t.id}`);
    expect(r.stdout).toContain('loom dlq list');
  });
});
