import type { LoomEvent } from '../../domain/events.js';
import type { DiscoveredPlugin, PluginProblem } from '../../ports/loom-connector.js';
import type { Notifier } from '../../ports/notifier.js';
import type { NotifierType } from '../api.js';
import { pluginIsActive } from './discovery.js';
import { loadPluginCode, oneLine, type LoadedPluginCode } from './loader.js';
import { optionErrors, validatorOf } from './options.js';

/** A config entry `notifications.notifiers[i]` whose type is a plugin's, `<id>/<type>`: its other keys are the options. */
export interface PluginNotifierConfig {
  name: string;
  type: string;
  options: Record<string, unknown>;
}

/** How one configured plugin notifier is doing, as `loom plugins list` and `loom doctor` show it. */
export interface PluginNotifierStatus {
  name: string;
  type: string;
  plugin: string;
  /** running; not_started (see problem); disabled (it hung too often and is skipped from then on). */
  state: 'running' | 'not_started' | 'disabled';
  /** Calls that threw or rejected, and calls that did not settle in time. */
  failures: number;
  hangs: number;
  last_error: string | null;
  problem: PluginProblem | null;
}

export interface PluginNotifierOptions {
  projectDir: string;
  /** One line into the owner's log. */
  log: (line: string) => void;
  /** Called whenever a status changes (a failure counted, a notifier disabled). */
  onStatus?: (statuses: readonly PluginNotifierStatus[]) => void;
  /** A notify() call that has not settled by then counts as hung (default 10 s). */
  notifyTimeoutMs?: number;
  /** Hung calls after which the notifier is disabled (default 3). */
  maxHangs?: number;
  /** How long create() and close() may take (default 5 s each). */
  factoryTimeoutMs?: number;
  importTimeoutMs?: number;
}

const typeOf = (t: string): { id: string; type: string } => {
  const slash = t.indexOf('/');
  return { id: t.slice(0, slash), type: t.slice(slash + 1) };
};

/**
 * Resolves one configured plugin notifier against the discovered plugins and
 * their loaded code, and validates its options against the type's schema.
 * Runs no plugin code beyond the import already done. A problem says why the
 * notifier will not start.
 */
export function resolvePluginNotifier(
  c: PluginNotifierConfig,
  plugins: readonly DiscoveredPlugin[],
  code: ReadonlyMap<string, LoadedPluginCode>,
): { type: NotifierType; options: Record<string, unknown> } | { problem: PluginProblem } {
  const { id, type } = typeOf(c.type);
  const p = plugins.find((x) => x.id === id && !x.errors.some((e) => e.code === 'PLUGIN_DUPLICATE_ID'));
  const problem = (code: string, message: string, hint: string, severity: 'error' | 'warning' = 'error'): { problem: PluginProblem } => ({
    problem: { package: p?.package ?? id, id, field: `notifications.notifiers (${c.name})`, code, message: `notifier ${c.name} (${c.type}) is not started: ${message}`, hint, severity },
  });
  if (p === undefined) return problem('PLUGIN_NOTIFIER_UNKNOWN', `no plugin with the id "${id}" is installed`, `install the plugin (\`loom plugins add NAME\`), or fix the type; \`loom plugins list\` shows the installed ids`);
  if (!pluginIsActive(p)) return problem('PLUGIN_NOTIFIER_UNAVAILABLE', `plugin ${id} is not in use (${p.errors[0]?.code ?? 'its plugin API range does not fit'})`, 'see `loom plugins info ' + id + '`');
  if (p.main === null) return problem('PLUGIN_NOTIFIER_UNKNOWN', `plugin ${id} has no code, so no notifier types`, 'check the type; `loom plugins info ' + id + '` shows what it contributes');
  if (!p.trusted) return problem('PLUGIN_UNTRUSTED', `plugin ${id} is untrusted, so none of its code runs`, `run \`loom plugins trust ${id}\``, 'warning');
  const loaded = code.get(id);
  if (loaded === undefined || loaded.plugin === null) return problem('PLUGIN_NOTIFIER_UNAVAILABLE', `the code of plugin ${id} did not load (${loaded?.problems[0]?.code ?? 'not loaded'})`, 'see `loom plugins info ' + id + '`');
  const t = loaded.notifierTypes.get(c.type);
  if (t === undefined) {
    const known = [...loaded.notifierTypes.keys()];
    return problem('PLUGIN_NOTIFIER_UNKNOWN', `plugin ${id} has no notifier type "${type}"`, known.length === 0 ? `plugin ${id} contributes no notifier types` : `its types: ${known.join(', ')}`);
  }
  const validate = validatorOf(t);
  if (validate instanceof Error) {
    return problem('PLUGIN_OPTIONS_SCHEMA_INVALID', `the options schema of ${c.type} does not compile: ${oneLine(validate)}`, 'report it to the plugin author');
  }
  const options = structuredClone(c.options);
  if (!validate(options)) {
    return problem('PLUGIN_OPTIONS_INVALID', `its options do not fit ${c.type}: ${optionErrors(validate)}`, `fix the entry in notifications.notifiers; \`loom plugins info ${id}\` shows the options of ${c.type}`);
  }
  return { type: t, options };
}

/** Imports the code of every trusted plugin (each once per process), keyed by id. */
export async function loadAllPluginCode(plugins: readonly DiscoveredPlugin[], importTimeoutMs?: number): Promise<Map<string, LoadedPluginCode>> {
  const out = new Map<string, LoadedPluginCode>();
  const loaded = await Promise.all(plugins.filter((p) => !p.errors.some((e) => e.code === 'PLUGIN_DUPLICATE_ID')).map((p) => loadPluginCode(p, importTimeoutMs === undefined ? {} : { importTimeoutMs })));
  for (const l of loaded) out.set(l.id, l);
  return out;
}

/**
 * Builds the configured plugin notifiers: options validated, each factory run
 * (bounded in time), each notifier wrapped so that one that throws, rejects or
 * hangs is reported and never holds up the event path. A notifier that cannot
 * start is reported and skipped; the others start.
 */
export async function startPluginNotifiers(
  configs: readonly PluginNotifierConfig[],
  plugins: readonly DiscoveredPlugin[],
  o: PluginNotifierOptions,
): Promise<{ notifiers: Notifier[]; statuses: PluginNotifierStatus[] }> {
  if (configs.length === 0) return { notifiers: [], statuses: [] };
  const code = await loadAllPluginCode(plugins, o.importTimeoutMs);
  for (const l of code.values()) for (const p of l.problems) o.log(`plugin ${l.id}: ${p.code} ${p.message}`);
  const statuses: PluginNotifierStatus[] = [];
  const changed = (): void => o.onStatus?.(statuses);
  const notifiers: Notifier[] = [];
  for (const c of configs) {
    const controller = new AbortController();
    const status: PluginNotifierStatus = { name: c.name, type: c.type, plugin: typeOf(c.type).id, state: 'not_started', failures: 0, hangs: 0, last_error: null, problem: null };
    statuses.push(status);
    const resolved = resolvePluginNotifier(c, plugins, code);
    if ('problem' in resolved) {
      status.problem = resolved.problem;
      o.log(`${resolved.problem.code} ${resolved.problem.message} (hint: ${resolved.problem.hint})`);
      continue;
    }
    const pkg = plugins.find((p) => p.id === status.plugin)?.package ?? status.plugin;
    const prefix = `plugin ${status.plugin}: notifier ${c.name}`;
    const ctx = { name: c.name, projectDir: o.projectDir, log: (line: string) => o.log(`${prefix}: ${oneLine(line, 1000)}`), signal: controller.signal };
    const creating = Promise.resolve().then(() => resolved.type.create(resolved.options, ctx));
    try {
      const made = await within(creating, o.factoryTimeoutMs ?? 5_000, 'create() did not finish');
      if (typeof made !== 'object' || made === null || typeof (made as Notifier).notify !== 'function') throw new Error('create() returned no notifier (an object with a notify(event) method)');
      notifiers.push(new IsolatedNotifier(c.name, made, status, { ...o, pkg, changed, abort: () => controller.abort() }));
      status.state = 'running';
    } catch (e) {
      // Given up on: tell a factory still at work to stop, and close what it makes if it finishes
      // late (nothing else will hold or close that notifier).
      controller.abort();
      creating.then((late) => (late as Partial<Notifier> | null)?.close?.()).catch(() => {});
      status.problem = {
        package: pkg,
        id: status.plugin,
        field: `notifications.notifiers (${c.name})`,
        code: 'PLUGIN_FACTORY_FAILED',
        message: `notifier ${c.name} (${c.type}) is not started: its factory failed: ${oneLine(e)}`,
        hint: 'check its options against `loom plugins info ' + status.plugin + '`, or report it to the plugin author',
        severity: 'error',
      };
      o.log(`${status.problem.code} ${status.problem.message}`);
    }
  }
  changed();
  return { notifiers, statuses };
}

class Timeout extends Error {}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout(`${what} within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * A plugin's notifier behind a guard: each call is bounded in time (a call
 * still pending then counts as hung and its slot is freed), a throw or
 * rejection is counted and passed on to the router's log, and after
 * `maxHangs` hung calls the notifier is disabled: later events skip it, so a
 * dead notifier costs a bounded number of pending calls. A notifier that
 * blocks the event loop itself (a synchronous endless loop) is beyond what an
 * in-process guard can stop.
 */
class IsolatedNotifier implements Notifier {
  constructor(
    readonly name: string,
    private readonly inner: Notifier,
    private readonly status: PluginNotifierStatus,
    private readonly o: PluginNotifierOptions & { pkg: string; changed: () => void; abort: () => void },
  ) {}

  private get disabled(): boolean {
    return this.status.state === 'disabled';
  }

  async notify(event: LoomEvent): Promise<void> {
    if (this.disabled) return;
    try {
      await within(Promise.resolve().then(() => this.inner.notify(event)), this.o.notifyTimeoutMs ?? 10_000, 'notify() did not settle');
    } catch (e) {
      this.status.last_error = oneLine(e);
      if (e instanceof Timeout) {
        this.status.hangs++;
        const max = this.o.maxHangs ?? 3;
        // Calls already in flight when it is disabled still time out (and are counted): disable and report once.
        if (this.status.hangs >= max && !this.disabled) {
          this.status.state = 'disabled';
          this.status.problem = {
            package: this.o.pkg,
            id: this.status.plugin,
            field: `notifications.notifiers (${this.name})`,
            code: 'PLUGIN_NOTIFIER_HUNG',
            message: `notifier ${this.name} (${this.status.type}) is disabled: ${this.status.hangs} calls did not settle within ${this.o.notifyTimeoutMs ?? 10_000} ms; later events skip it until Loom restarts`,
            hint: 'report it to the plugin author; restart the daemon (`loom daemon stop`) to try it again',
            severity: 'error',
          };
          this.o.log(`${this.status.problem.code} ${this.status.problem.message}`);
          this.o.abort();
        }
      } else {
        this.status.failures++;
      }
      this.o.changed();
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.inner.close === undefined) return this.o.abort();
    try {
      await within(Promise.resolve().then(() => this.inner.close!()), this.o.factoryTimeoutMs ?? 5_000, 'close() did not finish');
    } catch (e) {
      this.o.log(`plugin ${this.status.plugin}: notifier ${this.name}: close failed: ${oneLine(e)}`);
    } finally {
      this.o.abort();
    }
  }
}
