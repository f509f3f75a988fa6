/**
 * Plugin code, against the code fixtures under tests/fixtures/plugins
 * installed in temp projects (node_modules/loom-agents linked to this
 * repository, so each imports the built `loom-agents/plugin`): the loader
 * imports only trusted, usable plugins and reports each way an import goes
 * wrong; `listPlugins` shows what each contributes and every problem; and at
 * run time, behind a real NotifierRouter on the in-process bus, the good
 * notifier gets every routed event while the others hang, reject, throw or
 * never start, each reported with its code.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InProcessEventBus } from '../../src/adapters/memory/in-process-event-bus.js';
import type { NotifiersConfigFile } from '../../src/adapters/notifiers/config-schema.js';
import { NotifierRouter } from '../../src/adapters/notifiers/notifier-router.js';
import { loadConfig } from '../../src/app/config.js';
import { startNotifiers } from '../../src/app/notifications.js';
import { pluginStatusFile, readPluginStatus } from '../../src/app/plugin-status.js';
import { listPlugins } from '../../src/app/plugins.js';
import type { EventType } from '../../src/domain/events.js';
import { clearPluginCache, discoverPlugins } from '../../src/plugins/host/discovery.js';
import { clearLoadedPluginCode, loadPluginCode } from '../../src/plugins/host/loader.js';
import { startPluginNotifiers, type PluginNotifierConfig, type PluginNotifierStatus } from '../../src/plugins/host/notifiers.js';
import type { DiscoveredPlugin, PluginInfo, PluginProblem } from '../../src/ports/loom-connector.js';
import type { Notifier } from '../../src/ports/notifier.js';
import { loom, ROOT } from '../support/loom-cli.js';
import { event } from '../notifiers/support.js';
import { installPlugins } from '../support/plugin-project.js';
import { until } from '../support/until.js';

const CODE_FIXTURES = ['code-good', 'import-throws', 'import-hangs', 'factory-throws', 'notifier-hangs', 'notifier-rejects', 'not-defined', 'id-mismatch', 'schema-invalid'] as const;
type CodeFixture = (typeof CODE_FIXTURES)[number];

const temps: string[] = [];
const temp = (prefix: string): string => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A temp project with these code fixtures installed as `loom-plugin-<fixture>` (ids are the fixture names). */
const projectWith = (fixtures: readonly CodeFixture[], o: { linkLoom?: boolean } = {}): string =>
  installPlugins(temp('loom-plugin-code-'), Object.fromEntries(fixtures.map((f) => [`loom-plugin-${f}`, f])), o);

const emptyHome = (): NodeJS.ProcessEnv => ({ LOOM_HOME: temp('loom-plugin-code-home-') });

/** One notifier per fixture type, the good one twice (the second with options its schema refuses). */
const NOTIFIERS: NonNullable<NotifiersConfigFile['notifiers']> = [
  { name: 'good', type: 'code-good/record', file: 'out/good.log' },
  { name: 'bad-options', type: 'code-good/record', file: 42, colour: 'red' },
  { name: 'factory', type: 'factory-throws/broken' },
  { name: 'factory-hangs', type: 'factory-throws/never', aborted_file: 'out/factory-aborted' },
  { name: 'factory-empty', type: 'factory-throws/empty' },
  { name: 'hangs', type: 'notifier-hangs/stuck' },
  { name: 'rejects', type: 'notifier-rejects/rejects' },
  { name: 'throws', type: 'notifier-rejects/throws' },
  { name: 'import-throws', type: 'import-throws/any' },
  { name: 'import-hangs', type: 'import-hangs/any' },
  { name: 'not-defined', type: 'not-defined/plain' },
  { name: 'mismatch', type: 'id-mismatch/any' },
  { name: 'odd-schema', type: 'schema-invalid/odd' },
];
const ALL_ROUTED: NotifiersConfigFile['routes'] = NOTIFIERS.map((n) => ({ notifier: n.name, events: ['*'] }));
const asConfigs = (list: typeof NOTIFIERS): PluginNotifierConfig[] => list.map(({ name, type, ...options }) => ({ name, type, options }));

const codesOf = (problems: readonly PluginProblem[]): string[] => problems.map((p) => p.code);
const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);

describe('the plugin loader', () => {
  let dir: string;
  let plugins: DiscoveredPlugin[];
  let markers: string;
  const byId = (id: string): DiscoveredPlugin => plugins.find((p) => p.id === id)!;
  const imported = (): string[] => lines(join(markers, 'code-good'));

  beforeAll(() => {
    clearPluginCache();
    clearLoadedPluginCode();
    markers = temp('loom-plugin-code-markers-');
    process.env.LOOM_TEST_IMPORT_MARKERS = markers;
    dir = projectWith(['code-good', 'import-throws', 'id-mismatch', 'not-defined']);
    plugins = discoverPlugins({ projectDir: dir, env: emptyHome(), trust: ['code-good', 'import-throws', 'id-mismatch', 'not-defined'] }).plugins;
    expect(plugins.map((p) => [p.id, p.trusted, p.errors.length])).toEqual([
      ['code-good', true, 0],
      ['import-throws', true, 0],
      ['id-mismatch', true, 0],
      ['not-defined', true, 0],
    ]);
  });
  afterAll(() => {
    delete process.env.LOOM_TEST_IMPORT_MARKERS;
  });

  it('imports nothing of an untrusted plugin, an unusable one (API does not fit, manifest errors) or one without main', async () => {
    const broken: PluginProblem = { package: 'x', code: 'PLUGIN_MANIFEST_INVALID', message: 'x', hint: 'x', severity: 'error' };
    for (const id of ['code-good', 'import-throws']) {
      const p = byId(id);
      for (const variant of [{ ...p, trusted: false }, { ...p, api_fits: false }, { ...p, errors: [broken] }, { ...p, main: null }]) {
        const loaded = await loadPluginCode(variant);
        // import-throws would report PLUGIN_IMPORT_FAILED, code-good would write its marker, had either been imported.
        expect(loaded).toEqual({ id, plugin: null, notifierTypes: new Map(), runnerTypes: new Map(), problems: [] });
      }
    }
    expect(imported()).toEqual([]);
  });

  it("imports a trusted plugin's entry once per process and gives its notifier types as <id>/<type>", async () => {
    const first = await loadPluginCode(byId('code-good'));
    expect(first.problems).toEqual([]);
    expect(first.plugin?.id).toBe('code-good');
    expect([...first.notifierTypes.keys()]).toEqual(['code-good/record']);
    expect(imported()).toEqual([String(process.pid)]);
    const again = await loadPluginCode(byId('code-good'));
    expect(again).toBe(first);
    expect(imported()).toHaveLength(1);
  });

  it('reports an entry that throws, one whose default export is not from definePlugin, and one naming another id', async () => {
    const problemOf = async (id: string): Promise<PluginProblem> => {
      const loaded = await loadPluginCode(byId(id));
      expect(loaded.plugin).toBeNull();
      expect(loaded.notifierTypes.size).toBe(0);
      expect(loaded.problems).toHaveLength(1);
      return loaded.problems[0]!;
    };
    expect(await problemOf('import-throws')).toMatchObject({
      id: 'import-throws',
      package: 'loom-plugin-import-throws',
      field: 'loom.main',
      code: 'PLUGIN_IMPORT_FAILED',
      message: expect.stringContaining('broken at top level'),
      severity: 'error',
    });
    expect(await problemOf('not-defined')).toMatchObject({ code: 'PLUGIN_NOT_DEFINED', message: expect.stringContaining('not a plugin made by definePlugin (got object)') });
    expect(await problemOf('id-mismatch')).toMatchObject({
      code: 'PLUGIN_ID_MISMATCH',
      message: 'loom-plugin-id-mismatch: definePlugin names the id "someone-else", but its package.json says "id-mismatch"',
      hint: expect.stringContaining('loom.id'),
    });
  });

  it('says to install loom-agents when a plugin cannot find loom-agents/plugin', async () => {
    const lone = projectWith(['code-good'], { linkLoom: false });
    const [p] = discoverPlugins({ projectDir: lone, env: emptyHome(), trust: ['code-good'] }).plugins;
    const loaded = await loadPluginCode(p!);
    expect(loaded.plugin).toBeNull();
    expect(loaded.problems).toEqual([
      expect.objectContaining({ code: 'PLUGIN_IMPORT_FAILED', message: expect.stringContaining('loom-agents'), hint: expect.stringContaining(`npm i -D loom-agents@file:${ROOT}`) }),
    ]);
  });
});

describe('loom plugins list over code fixtures', () => {
  afterEach(() => {
    delete process.env.LOOM_TEST_IMPORT_MARKERS;
  });

  it('loads code-good and reports each bad plugin with its code; a hung import is given up on, and nothing else waits for it', async () => {
    clearPluginCache();
    clearLoadedPluginCode();
    const dir = projectWith(CODE_FIXTURES);
    const t0 = performance.now();
    const list = await listPlugins({ projectDir: dir, env: emptyHome(), plugins: { paths: [], trust: [...CODE_FIXTURES] }, notifications: { notifiers: NOTIFIERS, routes: ALL_ROUTED } });
    console.log(`listPlugins, ${CODE_FIXTURES.length} code fixtures (one import hangs until the 5 s bound): ${(performance.now() - t0).toFixed(0)} ms`);
    const info = (id: string): PluginInfo => list.plugins.find((p) => p.id === id)!;
    const row = (id: string) => ({ code: info(id).code, errors: codesOf(info(id).errors), notifiers: info(id).notifiers.map((n) => [n.name, n.state]) });

    expect(list.plugins.map((p) => p.id).sort()).toEqual([...CODE_FIXTURES].sort());
    expect(info('code-good').contributes).toEqual({
      skills: 0,
      workflows: 0,
      code: true,
      notifier_types: [
        {
          type: 'code-good/record',
          description: 'Appends the type of each routed event to a file, one per line',
          options_schema: { $id: 'https://loom.example/plugins/code-good/record-options.json', type: 'object', additionalProperties: false, required: ['file'], properties: { file: { type: 'string', minLength: 1 } } },
        },
      ],
      runner_types: [],
    });
    // The good plugin loads; only its second entry, whose options the schema refuses, cannot start.
    expect(row('code-good')).toEqual({ code: 'loaded', errors: ['PLUGIN_OPTIONS_INVALID'], notifiers: [['good', 'configured'], ['bad-options', 'not_startable']] });
    const options = info('code-good').errors[0]!;
    expect(options.message).toContain('file must be string');
    expect(options.message).toContain('must NOT have additional properties (colour)');
    // Listing runs no factory: the factory that throws is not found out here (see the run-time tests).
    expect(row('factory-throws')).toEqual({ code: 'loaded', errors: [], notifiers: [['factory', 'configured'], ['factory-hangs', 'configured'], ['factory-empty', 'configured']] });
    expect(row('notifier-hangs')).toEqual({ code: 'loaded', errors: [], notifiers: [['hangs', 'configured']] });
    expect(row('notifier-rejects')).toEqual({ code: 'loaded', errors: [], notifiers: [['rejects', 'configured'], ['throws', 'configured']] });
    expect(row('schema-invalid')).toEqual({ code: 'loaded', errors: ['PLUGIN_OPTIONS_SCHEMA_INVALID'], notifiers: [['odd-schema', 'not_startable']] });
    expect(info('schema-invalid').errors[0]!.message).toContain('unknown keyword: "colour"');
    expect(info('notifier-rejects').contributes.notifier_types.map((t) => t.type)).toEqual(['notifier-rejects/rejects', 'notifier-rejects/throws']);
    for (const [id, code] of [
      ['import-throws', 'PLUGIN_IMPORT_FAILED'],
      ['import-hangs', 'PLUGIN_IMPORT_FAILED'],
      ['not-defined', 'PLUGIN_NOT_DEFINED'],
      ['id-mismatch', 'PLUGIN_ID_MISMATCH'],
    ] as const) {
      expect(row(id)).toEqual({ code: 'failed', errors: [code, 'PLUGIN_NOTIFIER_UNAVAILABLE'], notifiers: [[expect.any(String), 'not_startable']] });
      expect(info(id).contributes.notifier_types).toEqual([]);
      // Its skills and workflows would still be served: only its code is skipped.
      expect(info(id).active).toBe(true);
    }
    expect(info('import-hangs').errors[0]!.message).toContain('did not finish within 5 s');
    expect(info('import-throws').errors[0]!.message).toContain('broken at top level');
    expect(info('import-throws').errors[1]!.message).toContain('(PLUGIN_IMPORT_FAILED)');
    expect(codesOf(list.problems).sort()).toEqual(
      ['PLUGIN_OPTIONS_INVALID', 'PLUGIN_OPTIONS_SCHEMA_INVALID', 'PLUGIN_IMPORT_FAILED', 'PLUGIN_IMPORT_FAILED', 'PLUGIN_NOT_DEFINED', 'PLUGIN_ID_MISMATCH', ...Array(4).fill('PLUGIN_NOTIFIER_UNAVAILABLE')].sort(),
    );
    for (const p of list.problems) expect(p.hint.length).toBeGreaterThan(0);
  });

  it("imports no code of an untrusted plugin: code 'untrusted', its notifiers PLUGIN_UNTRUSTED (a warning); trusting it imports it", async () => {
    clearPluginCache();
    clearLoadedPluginCode();
    const markers = temp('loom-plugin-code-markers-');
    process.env.LOOM_TEST_IMPORT_MARKERS = markers;
    const dir = projectWith(['code-good', 'import-throws']);
    const env = emptyHome();
    const notifications: NotifiersConfigFile = { notifiers: [NOTIFIERS[0]!, { name: 'import-throws', type: 'import-throws/any' }] };

    const untrusted = await listPlugins({ projectDir: dir, env, plugins: { paths: [], trust: [] }, notifications });
    expect(untrusted.plugins.map((p) => [p.id, p.code, p.trusted, codesOf(p.errors), p.notifiers.map((n) => n.state)])).toEqual([
      ['code-good', 'untrusted', false, [], ['not_startable']],
      ['import-throws', 'untrusted', false, [], ['not_startable']],
    ]);
    // Neither imported: no marker from code-good, no PLUGIN_IMPORT_FAILED from import-throws.
    expect(existsSync(join(markers, 'code-good'))).toBe(false);
    expect(untrusted.problems).toEqual([
      expect.objectContaining({ id: 'code-good', code: 'PLUGIN_UNTRUSTED', severity: 'warning', hint: 'run `loom plugins trust code-good`' }),
      expect.objectContaining({ id: 'import-throws', code: 'PLUGIN_UNTRUSTED', severity: 'warning' }),
    ]);
    expect(untrusted.plugins[0]!.contributes.notifier_types).toEqual([]);

    const trusted = await listPlugins({ projectDir: dir, env, plugins: { paths: [], trust: ['code-good', 'import-throws'] }, notifications });
    expect(trusted.plugins.map((p) => [p.id, p.code, codesOf(p.errors)])).toEqual([
      ['code-good', 'loaded', []],
      ['import-throws', 'failed', ['PLUGIN_IMPORT_FAILED', 'PLUGIN_NOTIFIER_UNAVAILABLE']],
    ]);
    expect(lines(join(markers, 'code-good'))).toEqual([String(process.pid)]);
  });

  it('checks the options of one plugin installed in two projects in both, in one process (its schema has an $id)', async () => {
    const notifications: NotifiersConfigFile = { notifiers: [NOTIFIERS[0]!, NOTIFIERS[1]!] };
    for (const dir of [projectWith(['code-good']), projectWith(['code-good'])]) {
      const list = await listPlugins({ projectDir: dir, env: emptyHome(), plugins: { paths: [], trust: ['code-good'] }, notifications });
      expect(list.plugins.map((p) => [p.code, codesOf(p.errors), p.notifiers.map((n) => n.state)])).toEqual([['loaded', ['PLUGIN_OPTIONS_INVALID'], ['configured', 'not_startable']]]);
    }
  });

  it('`loom plugins list --json` (the built CLI) reports a plugin whose import hangs instead of exiting with nothing', async () => {
    const dir = projectWith(['code-good', 'import-hangs']);
    mkdirSync(join(dir, '.loom'));
    writeFileSync(join(dir, '.loom', 'config.yaml'), 'plugins:\n  trust: [code-good, import-hangs]\n');
    const r = await loom(dir, ['plugins', 'list', '--json'], { LOOM_HOME: temp('loom-plugin-code-home-') });
    expect(r.stderr).not.toContain('INTERNAL');
    const list = JSON.parse(r.stdout) as { plugins: PluginInfo[] };
    expect(list.plugins.map((p) => [p.id, p.code, codesOf(p.errors)])).toEqual([
      ['code-good', 'loaded', []],
      ['import-hangs', 'failed', ['PLUGIN_IMPORT_FAILED']],
    ]);
  });
});

describe('plugin notifiers at run time (startPluginNotifiers, a NotifierRouter on the in-process bus)', () => {
  const NOTIFY_TIMEOUT_MS = 200;
  const MAX_HANGS = 2;
  const IMPORT_TIMEOUT_MS = 500;
  const FACTORY_TIMEOUT_MS = 300;
  let dir: string;
  let bus: InProcessEventBus;
  let router: NotifierRouter;
  let notifiers: Notifier[];
  let statuses: PluginNotifierStatus[];
  let reported: readonly PluginNotifierStatus[] = [];
  let startMs: number;
  const logs: string[] = [];
  const status = (name: string): PluginNotifierStatus => statuses.find((s) => s.name === name)!;
  const good = (): string[] => lines(join(dir, 'out', 'good.log'));
  const publish = (from: number, types: EventType[]): void => bus.publish(types.map((t, i) => event(from + i, t)));

  beforeAll(async () => {
    clearPluginCache();
    clearLoadedPluginCode();
    dir = projectWith(CODE_FIXTURES);
    const { plugins } = discoverPlugins({ projectDir: dir, env: emptyHome(), trust: [...CODE_FIXTURES] });
    const t0 = performance.now();
    ({ notifiers, statuses } = await startPluginNotifiers(asConfigs(NOTIFIERS), plugins, {
      projectDir: dir,
      log: (l) => logs.push(l),
      onStatus: (s) => (reported = structuredClone(s)),
      notifyTimeoutMs: NOTIFY_TIMEOUT_MS,
      maxHangs: MAX_HANGS,
      importTimeoutMs: IMPORT_TIMEOUT_MS,
      factoryTimeoutMs: FACTORY_TIMEOUT_MS,
    }));
    startMs = performance.now() - t0;
    bus = new InProcessEventBus();
    router = new NotifierRouter({ bus, projectId: 'proj', notifiers, routes: ALL_ROUTED!, log: (l) => logs.push(l) });
    router.start();
  });
  afterAll(async () => {
    await router?.close();
  });

  it('starts the notifiers that can start; each that cannot is not_started with its code, and a hung import holds start-up only for the import timeout', () => {
    console.log(`startPluginNotifiers, ${NOTIFIERS.length} notifiers over ${CODE_FIXTURES.length} code fixtures (import timeout ${IMPORT_TIMEOUT_MS} ms): ${startMs.toFixed(0)} ms`);
    expect(notifiers.map((n) => n.name)).toEqual(['good', 'hangs', 'rejects', 'throws']);
    expect(statuses.map((s) => [s.name, s.state, s.problem?.code ?? null])).toEqual([
      ['good', 'running', null],
      ['bad-options', 'not_started', 'PLUGIN_OPTIONS_INVALID'],
      ['factory', 'not_started', 'PLUGIN_FACTORY_FAILED'],
      ['factory-hangs', 'not_started', 'PLUGIN_FACTORY_FAILED'],
      ['factory-empty', 'not_started', 'PLUGIN_FACTORY_FAILED'],
      ['hangs', 'running', null],
      ['rejects', 'running', null],
      ['throws', 'running', null],
      ['import-throws', 'not_started', 'PLUGIN_NOTIFIER_UNAVAILABLE'],
      ['import-hangs', 'not_started', 'PLUGIN_NOTIFIER_UNAVAILABLE'],
      ['not-defined', 'not_started', 'PLUGIN_NOTIFIER_UNAVAILABLE'],
      ['mismatch', 'not_started', 'PLUGIN_NOTIFIER_UNAVAILABLE'],
      ['odd-schema', 'not_started', 'PLUGIN_OPTIONS_SCHEMA_INVALID'],
    ]);
    expect(status('factory').problem).toMatchObject({ package: 'loom-plugin-factory-throws', message: expect.stringContaining('its factory failed: factory-throws fixture: cannot build a notifier') });
    expect(status('factory-hangs').problem!.message).toContain(`its factory failed: create() did not finish within ${FACTORY_TIMEOUT_MS} ms`);
    expect(status('factory-empty').problem!.message).toContain('create() returned no notifier');
    expect(status('bad-options').problem!.message).toContain('file must be string');
    expect(status('import-hangs').problem!.message).toContain('(PLUGIN_IMPORT_FAILED)');
    expect(logs).toContainEqual(expect.stringMatching(/^plugin import-hangs: PLUGIN_IMPORT_FAILED .*did not finish within 0\.5 s/));
    expect(logs).toContainEqual(expect.stringMatching(/^plugin import-throws: PLUGIN_IMPORT_FAILED .*broken at top level/));
    expect(reported.map((s) => s.state)).toEqual(statuses.map((s) => s.state));
  });

  it('aborts the signal of a factory it gave up on, so a factory still working can stop', async () => {
    await until(() => existsSync(join(dir, 'out', 'factory-aborted')), 'the abandoned factory to see its signal aborted');
    expect(lines(join(dir, 'out', 'factory-aborted'))).toEqual(['aborted']);
  });

  it('the good notifier gets every routed event; the hanging one is disabled after maxHangs hung calls; the failing ones are counted; the good one keeps getting events after', async () => {
    publish(1, ['task.created']);
    await until(() => status('hangs').hangs === 1, 'the first call to the hanging notifier to time out');
    // One hung call short of maxHangs: still running.
    expect(status('hangs')).toMatchObject({ state: 'running', problem: null, last_error: `notify() did not settle within ${NOTIFY_TIMEOUT_MS} ms` });
    publish(2, ['task.claimed', 'task.done']);
    await until(() => good().length === 3, 'code-good to record the first three events');
    expect(good()).toEqual(['task.created', 'task.claimed', 'task.done']);
    await until(() => status('hangs').state === 'disabled', 'the hanging notifier to be disabled');
    expect(status('hangs').problem).toMatchObject({
      code: 'PLUGIN_NOTIFIER_HUNG',
      id: 'notifier-hangs',
      package: 'loom-plugin-notifier-hangs',
      message: expect.stringContaining(`did not settle within ${NOTIFY_TIMEOUT_MS} ms`),
    });
    // The second and third calls were in flight together, so both time out; the notifier is disabled (and reported) once.
    await until(() => status('hangs').hangs === 3, 'all three calls to the hanging notifier to time out');
    expect(logs.filter((l) => l.startsWith('PLUGIN_NOTIFIER_HUNG'))).toHaveLength(1);
    expect(status('hangs').problem!.message).toContain(`${MAX_HANGS} calls did not settle`);
    await until(() => status('rejects').failures === 3 && status('throws').failures === 3, 'the failing notifiers to fail on each event');
    expect(status('rejects')).toMatchObject({ state: 'running', hangs: 0, last_error: 'notifier-rejects fixture: rejected task.done' });
    expect(status('throws')).toMatchObject({ state: 'running', hangs: 0, last_error: 'notifier-rejects fixture: threw on task.done' });
    expect(logs).toContain('notifier rejects: failed on event 1 (task.created): notifier-rejects fixture: rejected task.created');
    expect(logs).toContain('notifier throws: failed on event 3 (task.done): notifier-rejects fixture: threw on task.done');
    await until(() => reported.find((s) => s.name === 'hangs')?.state === 'disabled', 'the disabled state to be reported through onStatus');

    // After: the good notifier still gets everything; the disabled one is skipped at once.
    publish(4, ['escalation.raised', 'message.sent', 'epic.completed']);
    await until(() => good().length === 6, 'code-good to record the next three events');
    expect(good()).toEqual(['task.created', 'task.claimed', 'task.done', 'escalation.raised', 'message.sent', 'epic.completed']);
    await until(() => status('rejects').failures === 6 && status('throws').failures === 6, 'the failing notifiers to fail on the next events too');
    // Skipped, not called: a call that reached the stuck notify() would reject with a timeout and count a hang.
    await expect(notifiers.find((n) => n.name === 'hangs')!.notify(event(7, 'task.done'))).resolves.toBeUndefined();
    expect(status('hangs').hangs).toBe(3);
  });
});

describe('startNotifiers (the daemon path) with plugin notifiers from a LoomConfig', () => {
  it('starts code-good in the background, writes .loom/daemon.plugins.json, and `loom plugins list` shows the factory that failed there', async () => {
    clearPluginCache();
    clearLoadedPluginCode();
    const dir = projectWith(['code-good', 'factory-throws']);
    const env = emptyHome();
    mkdirSync(join(dir, '.loom'));
    const notifications = {
      notifiers: [NOTIFIERS[0]!, NOTIFIERS[2]!],
      routes: [
        { notifier: 'good', events: ['task.*'] },
        { notifier: 'factory', events: ['*'] },
      ],
    };
    writeFileSync(join(dir, '.loom', 'config.yaml'), JSON.stringify({ project: { id: 'plugin-code', name: 'plugin code' }, plugins: { trust: ['code-good', 'factory-throws'] }, notifications }));
    const config = loadConfig(dir, env);
    const bus = new InProcessEventBus();
    const logs: string[] = [];
    const router = startNotifiers(config, bus, (l) => logs.push(l));
    expect(router).toBeDefined();
    try {
      // Published before the plugin notifier is up: the router holds them for it.
      bus.publish([event(1, 'task.created', { project_id: 'plugin-code' }), event(2, 'message.sent', { project_id: 'plugin-code' }), event(3, 'task.done', { project_id: 'plugin-code' })]);
      await until(() => lines(join(dir, 'out', 'good.log')).length === 2, 'code-good to record the task events');
      expect(lines(join(dir, 'out', 'good.log'))).toEqual(['task.created', 'task.done']);
      await until(() => existsSync(pluginStatusFile(dir)), 'the plugin status file');
      expect(readPluginStatus(dir)?.notifiers.map((n) => [n.name, n.state, n.problem?.code ?? null])).toEqual([
        ['good', 'running', null],
        ['factory', 'not_started', 'PLUGIN_FACTORY_FAILED'],
      ]);
      expect(logs).toContainEqual(expect.stringMatching(/^plugin notifiers: good; not started: factory$/));

      const list = await listPlugins({ projectDir: dir, env, plugins: config.plugins, notifications: config.notifications });
      expect(list.runtime_reported_at).not.toBeNull();
      expect(list.plugins.map((p) => [p.id, p.code, codesOf(p.errors), p.notifiers.map((n) => [n.name, n.state])])).toEqual([
        ['code-good', 'loaded', [], [['good', 'running']]],
        ['factory-throws', 'loaded', ['PLUGIN_FACTORY_FAILED'], [['factory', 'not_started']]],
      ]);
    } finally {
      await router?.close();
    }
    expect(lines(join(dir, 'out', 'good.log.closed'))).toEqual(['good']);
  });

  it('closes a plugin notifier that comes up after Loom stopped (the daemon stopped during start-up)', async () => {
    clearPluginCache();
    clearLoadedPluginCode();
    const dir = projectWith(['code-good']);
    mkdirSync(join(dir, '.loom'));
    const notifications = { notifiers: [NOTIFIERS[0]!], routes: [{ notifier: 'good', events: ['*'] }] };
    writeFileSync(join(dir, '.loom', 'config.yaml'), JSON.stringify({ project: { id: 'plugin-code', name: 'plugin code' }, plugins: { trust: ['code-good'] }, notifications }));
    const router = startNotifiers(loadConfig(dir, emptyHome()), new InProcessEventBus(), () => {});
    await router!.close();
    await until(() => existsSync(join(dir, 'out', 'good.log.closed')), 'the late notifier to be closed');
    expect(lines(join(dir, 'out', 'good.log.closed'))).toEqual(['good']);
  });
});
