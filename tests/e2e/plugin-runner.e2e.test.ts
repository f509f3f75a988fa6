/**
 * A plugin's runner type (plugin API 1.4) with the built binary: `loom
 * orchestrate --runner code-runner/echo` runs each ready task through the
 * command the plugin builds (no shell; the job's LOOM_* environment and
 * lease are Loom's) and records done with its output. Before anything is
 * claimed, an untrusted plugin, an unknown runner and options that do not fit
 * are refused with PLUGIN_RUNNER_UNAVAILABLE, as is a type that builds a
 * command Loom will not start, or names a program that is not installed, for a
 * sample task; a type that throws for one task fails that task (a dead
 * letter), and the run says so.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';
import { installPlugins } from '../support/plugin-project.js';
const TEST_TIMEOUT_MS = 300_000;

describe('loom orchestrate --runner (a plugin runner, built binary, embedded)', () => {
  let dir: string;
  let home: string;
  let env: Record<string, string>;
  const run = (args: string[]) => loom(dir, args, env);
  const json = <T = any>(args: string[]) => loomJson<T>(dir, args, env);
  const orchestrate = (runner: string, more: string[] = []) => run(['orchestrate', '--runner', runner, '--exit-when-idle', '--timeout', '60', ...more]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-runner-e2e-'));
    home = mkdtempSync(join(tmpdir(), 'loom-runner-home-'));
    env = { LOOM_HOME: home, LOOM_DAEMON_IDLE_SECONDS: '60' };
    // Installed in the project as npm would (a dev dependency), with Loom beside it for `loom-agents/plugin`.
    installPlugins(dir, { 'loom-plugin-code-runner': 'code-runner', 'loom-plugin-example': join('..', '..', '..', 'examples', 'loom-plugin-example') });
    await json(['init', '--name', 'runner-e2e']);
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await run(['daemon', 'stop']);
    for (const d of [dir, home]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
  }, TEST_TIMEOUT_MS);

  it('refuses an untrusted plugin before claiming anything, and lists its runners once trusted', async () => {
    const task = await json(['create', 'untouched while untrusted']);
    const r = await orchestrate('code-runner/echo', ['--runner-options', '{"greeting":"hi"}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PLUGIN_RUNNER_UNAVAILABLE: runner code-runner/echo cannot be used: plugin code-runner is untrusted, so none of its code runs (PLUGIN_UNTRUSTED)');
    expect(r.stderr).toContain('loom plugins trust code-runner');
    expect((await json(['status', task.id])).task.status).toBe('pending');

    expect((await run(['plugins', 'trust', 'code-runner'])).code).toBe(0);
    const info = await json(['plugins', 'info', 'code-runner']);
    expect(info.contributes.runner_types.map((t: { type: string }) => t.type)).toEqual(['code-runner/echo', 'code-runner/throws', 'code-runner/missing-program', 'code-runner/sets-loom-env', 'code-runner/async']);
    const text = await run(['plugins', 'info', 'code-runner']);
    expect(text.stdout).toContain('runner code-runner/echo');
    expect(text.stdout).toContain('run: loom orchestrate --runner code-runner/echo');
    expect((await run(['plugins', 'list'])).stdout).toContain('5 runners');
    await run(['cancel', task.id]);
  }, TEST_TIMEOUT_MS);

  it('refuses unknown runners, options that do not fit, and bad flags, with nothing claimed', async () => {
    const task = await json(['create', 'still pending']);
    const cases: Array<[string[], string]> = [
      [['orchestrate', '--runner', 'code-runner/nope', '--exit-when-idle'], 'PLUGIN_RUNNER_UNAVAILABLE: runner code-runner/nope cannot be used: plugin code-runner has no runner type "nope" (PLUGIN_RUNNER_UNKNOWN)'],
      [['orchestrate', '--runner', 'nobody/echo', '--exit-when-idle'], 'no plugin with the id "nobody" is installed (PLUGIN_RUNNER_UNKNOWN)'],
      [['orchestrate', '--runner', 'echo', '--exit-when-idle'], 'a plugin runner is named <plugin-id>/<type>'],
      [['orchestrate', '--runner', '../../etc/passwd', '--exit-when-idle'], 'runner "../../etc/passwd" cannot be used: a plugin runner is named <plugin-id>/<type>'],
      [['orchestrate', '--runner', `code-runner/${'x'.repeat(5000)}`, '--exit-when-idle'], `runner "code-runner/${'x'.repeat(68)}..." cannot be used`],
      [['orchestrate', '--runner', 'code-runner/echo', '--runner-options', '{"greeting":"a\\u0000b"}'], 'VALIDATION_FAILED: --runner-options.greeting: contains a NUL character'],
      [['orchestrate', '--runner', 'code-runner/echo', '--runner-options', '{"greeting":"\\ud800"}'], 'contains a lone surrogate'],
      [['orchestrate', '--runner', 'code-runner/echo', '--exit-when-idle'], "--runner-options do not fit code-runner/echo: options must have required property 'greeting' (PLUGIN_OPTIONS_INVALID)"],
      [['orchestrate', '--runner', 'code-runner/echo', '--runner-options', '{"greeting":"hi","__proto__":{"x":1}}', '--exit-when-idle'], 'VALIDATION_FAILED: --runner-options: the key "__proto__" is refused'],
      [['orchestrate', '--runner', 'code-runner/echo', '--runner-options', '[1]'], 'VALIDATION_FAILED: --runner-options must be a JSON object'],
      [['orchestrate', '--runner', 'code-runner/echo', '--runner-options', '{"greeting":'], 'VALIDATION_FAILED: --runner-options is not JSON'],
      [['orchestrate', '--runner', 'code-runner/echo', '--runner-options', `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`], 'nested deeper than 64 levels'],
      [['orchestrate', '--runner', 'code-runner/echo', '--run', 'true'], 'VALIDATION_FAILED: --run and --runner both say how to run a task: give one'],
      [['orchestrate', '--run', 'true', '--runner-options', '{}'], 'VALIDATION_FAILED: --runner-options go with --runner'],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    expect((await json(['status', task.id])).task.status).toBe('pending');
    await run(['cancel', task.id]);
  }, TEST_TIMEOUT_MS);

  it('runs each ready task through the command the plugin builds, and records done with its output', async () => {
    const a = await json(['create', `it's "quoted"; $(echo not run) \`x\``, '--priority', 'p0']);
    const b = await json(['create', 'second', '--depends-on', a.id]);
    const r = await orchestrate('code-runner/echo', ['--runner-options', '{"greeting":"hello"}', '--concurrency', '2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dispatching ready tasks to runner code-runner/echo (options from --runner-options), 2 at a time');
    expect(r.stdout).toContain('runner finished: done 2, failed 0');
    const status = await json(['status']);
    const first = (await json(['status', a.id])).task;
    expect(first.status).toBe('done');
    expect(first.output).toMatchObject({
      greeting: 'hello',
      title: `it's "quoted"; $(echo not run) \`x\``, // an argument, never seen by a shell
      attempt: 1,
      task_id: a.id,
      extra: `${status.project.id}:p0`,
      has_lease: true,
    });
    expect(first.output.agent_id).toMatch(/^runner-.+-\d+-0$/);
    expect((await json(['status', b.id])).task.output).toMatchObject({ greeting: 'hello', title: 'second', task_id: b.id });
  }, TEST_TIMEOUT_MS);

  it('takes the runner options from orchestration.runner_options in the config when --runner-options is not given', async () => {
    appendFileSync(join(dir, '.loom', 'config.yaml'), 'orchestration:\n  runner_options:\n    code-runner/echo: { greeting: from the config }\n');
    const task = await json(['create', 'configured']);
    const r = await orchestrate('code-runner/echo');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dispatching ready tasks to runner code-runner/echo (options from orchestration.runner_options in the config)');
    expect((await json(['status', task.id])).task.output).toMatchObject({ greeting: 'from the config', task_id: task.id });
    // The flag still wins.
    const flagged = await json(['create', 'flagged']);
    expect((await orchestrate('code-runner/echo', ['--runner-options', '{"greeting":"from the flag"}'])).code).toBe(0);
    expect((await json(['status', flagged.id])).task.output).toMatchObject({ greeting: 'from the flag' });
  }, TEST_TIMEOUT_MS);

  it.each([
    ['code-runner/sets-loom-env', "runner code-runner/sets-loom-env built a command Loom will not start: env LOOM_LEASE_TOKEN is Loom's to set (asked about a sample task before claiming anything)"],
    ['code-runner/async', 'runner code-runner/async built a command Loom will not start: it returned a promise'],
    ['code-runner/missing-program', 'runner code-runner/missing-program runs loom-test-no-such-program, which is not on the PATH; nothing was claimed'],
  ])('%s: refused when orchestrate starts (asked about a sample task), with nothing claimed', async (runner, message) => {
    const task = await json(['create', `for ${runner}`]);
    const r = await orchestrate(runner);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`PLUGIN_RUNNER_UNAVAILABLE: ${message}`);
    expect((await json(['status', task.id])).task.status).toBe('pending');
    await run(['cancel', task.id]);
  }, TEST_TIMEOUT_MS);

  it('a runner that throws for one task fails that task as a command that could not start (a dead letter), runs the others, and the run exits 3', async () => {
    const bad = await json(['create', 'explode on this one']);
    const good = await json(['create', 'an ordinary task']);
    const r = await orchestrate('code-runner/throws');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`dead letters: ${bad.id}`);
    const failed = (await json(['status', bad.id])).task;
    expect(failed.status).toBe('failed');
    expect(failed.failure_reason).toContain('runner code-runner/throws threw building the command: boom: no command for "explode on this one"');
    expect((await json(['status', good.id])).task.status).toBe('done');
  }, TEST_TIMEOUT_MS);

  it("the example plugin's claude runner: claude -p with the task, its JSON result the output and its cost the usage", async () => {
    expect((await run(['plugins', 'trust', 'example'])).code).toBe(0);
    // A stand-in for Claude Code: it checks its arguments and answers as `claude -p --output-format json` does.
    const fake = join(home, 'fake-claude');
    writeFileSync(
      fake,
      `#!${process.execPath}
const args = process.argv.slice(2);
const prompt = args[args.indexOf('-p') + 1] ?? '';
if (!prompt.includes(process.env.LOOM_TASK_ID) || args[args.indexOf('--model') + 1] !== 'sonnet' || !args.includes('--output-format')) { console.error('bad call: ' + JSON.stringify(args)); process.exit(2); }
process.stdout.write(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'Fixed it: ' + prompt.split('\\n')[0], total_cost_usd: 0.0123, usage: { input_tokens: 1200, output_tokens: 340 }, modelUsage: { 'claude-sonnet-4': {} } }));
`,
      { mode: 0o755 },
    );
    const task = await json(['create', 'Fix the login redirect', '--done-when', 'the redirect test passes']);
    const r = await orchestrate('example/claude', ['--runner-options', JSON.stringify({ model: 'sonnet', claude: fake })]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const done = (await json(['status', task.id])).task;
    expect(done.status).toBe('done');
    expect(done.output).toMatchObject({ type: 'result', is_error: false, total_cost_usd: 0.0123 });
    expect(done.output.result).toContain(`Loom task ${task.id} (attempt 1 of 3): Fix the login redirect`);
    const costs = await json(['costs', '--by', 'task']);
    expect(JSON.stringify(costs)).toContain(task.id);
    expect(JSON.stringify(costs)).toContain('0.0123');
  }, TEST_TIMEOUT_MS);
});
