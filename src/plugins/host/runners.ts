import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { RunJob } from '../../ports/agent-runner.js';
import type { DiscoveredPlugin, PluginProblem } from '../../ports/loom-connector.js';
import { PLUGIN_NAME_PATTERN, type RunnerJob, type RunnerType } from '../api.js';
import { pluginIsActive } from './discovery.js';
import { oneLine, type LoadedPluginCode } from './loader.js';
import { optionErrors, validatorOf } from './options.js';

/** The command a runner type built for a job, checked: what Loom will start. */
export interface CheckedRunnerCommand {
  argv: [string, ...string[]];
  env: Record<string, string>;
}

/** All the arguments of one command together (Linux takes ~2 MiB of arguments and environment). */
const MAX_ARGV_BYTES = 1024 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Resolves `<plugin-id>/<type>` (`loom orchestrate --runner`) against the
 * discovered plugins and their loaded code, and validates the options against
 * the type's schema. Runs no plugin code beyond the import already done. A
 * problem says why the runner cannot be used.
 */
export function resolvePluginRunner(
  name: string,
  rawOptions: Record<string, unknown>,
  plugins: readonly DiscoveredPlugin[],
  code: ReadonlyMap<string, LoadedPluginCode>,
): { type: RunnerType; options: Record<string, unknown> } | { problem: PluginProblem } {
  const slash = name.indexOf('/');
  // What a user may type is checked before it is echoed or looked up: a name, not a path or a page of text.
  const wellFormed = slash > 0 && PLUGIN_NAME_PATTERN.test(name.slice(0, slash)) && PLUGIN_NAME_PATTERN.test(name.slice(slash + 1));
  const id = slash < 0 ? name : name.slice(0, slash);
  const type = slash < 0 ? '' : name.slice(slash + 1);
  const p = plugins.find((x) => x.id === id && !x.errors.some((e) => e.code === 'PLUGIN_DUPLICATE_ID'));
  const problem = (code: string, message: string, hint: string): { problem: PluginProblem } => ({
    problem: { package: p?.package ?? id, id, field: '--runner', code, message: `runner ${wellFormed ? name : JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name)} cannot be used: ${message}`, hint, severity: 'error' },
  });
  const runnersOf = (): string[] => [...(code.values())].flatMap((l) => [...l.runnerTypes.keys()]);
  const known = (): string => {
    const all = runnersOf();
    return all.length === 0 ? 'no installed plugin contributes a runner (`loom plugins list`)' : `the runners of your trusted plugins: ${all.join(', ')}`;
  };
  if (!wellFormed) return problem('PLUGIN_RUNNER_UNKNOWN', 'a plugin runner is named <plugin-id>/<type>, each lower-case letters, digits and dashes', known());
  if (p === undefined) return problem('PLUGIN_RUNNER_UNKNOWN', `no plugin with the id "${id}" is installed`, `install it (\`loom plugins add NAME\`), or fix the name; ${known()}`);
  if (!pluginIsActive(p)) return problem('PLUGIN_RUNNER_UNAVAILABLE', `plugin ${id} is not in use (${p.errors[0]?.code ?? 'its plugin API range does not fit'})`, `see \`loom plugins info ${id}\``);
  if (p.main === null) return problem('PLUGIN_RUNNER_UNKNOWN', `plugin ${id} has no code, so no runners`, known());
  if (!p.trusted) return problem('PLUGIN_UNTRUSTED', `plugin ${id} is untrusted, so none of its code runs`, `run \`loom plugins trust ${id}\` if you trust its code to build the commands that run your tasks`);
  const loaded = code.get(id);
  if (loaded === undefined || loaded.plugin === null) {
    return problem('PLUGIN_RUNNER_UNAVAILABLE', `the code of plugin ${id} did not load (${loaded?.problems[0]?.code ?? 'not loaded'})`, `see \`loom plugins info ${id}\``);
  }
  const t = loaded.runnerTypes.get(name);
  if (t === undefined) {
    const own = [...loaded.runnerTypes.keys()];
    return problem('PLUGIN_RUNNER_UNKNOWN', `plugin ${id} has no runner type "${type}"`, own.length === 0 ? `plugin ${id} contributes no runners` : `its runners: ${own.join(', ')}`);
  }
  const validate = validatorOf(t);
  if (validate instanceof Error) return problem('PLUGIN_OPTIONS_SCHEMA_INVALID', `the options schema of ${name} does not compile: ${oneLine(validate)}`, 'report it to the plugin author');
  const options = structuredClone(rawOptions);
  if (!validate(options)) return problem('PLUGIN_OPTIONS_INVALID', `--runner-options do not fit ${name}: ${optionErrors(validate)}`, `\`loom plugins info ${id}\` shows the options of ${name}`);
  return { type: t, options };
}

/** What a runner type is told of a job (plain data; never the lease token, which the job gets in its environment). */
export function runnerJobOf(job: RunJob): RunnerJob {
  const t = job.task;
  return {
    task: {
      id: t.id,
      title: t.title,
      priority: t.priority,
      context: t.context,
      done_when: t.done_when,
      labels: t.labels,
      parent_id: t.parent_id,
      attempt: t.attempts,
      max_attempts: t.max_attempts,
    },
    agentId: job.agent_id,
    projectId: job.project_id,
    projectDir: job.project_dir,
  };
}

/**
 * The job a runner type is asked about once before anything is claimed, to
 * find out which program it runs (and that it builds a command at all).
 */
export const SAMPLE_RUNNER_JOB: RunnerJob = {
  task: {
    id: 'loom-00000000',
    title: 'A sample task: Loom checks the runner before it claims anything',
    priority: 'p1',
    context: {},
    done_when: null,
    labels: [],
    parent_id: null,
    attempt: 1,
    max_attempts: 3,
  },
  agentId: 'runner-check',
  projectId: 'prj-000000000000',
  projectDir: '.',
};

/**
 * Whether `program` can be started from `cwd` with this PATH: a path (with a
 * slash) that is an executable file, or a name found executable on the PATH.
 */
export function programFound(program: string, cwd: string, path: string | undefined): boolean {
  const executable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (program.includes('/')) return executable(resolve(cwd, program));
  return (path ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, program)));
}

/**
 * Asks a runner type for one job's command and checks it. Throws an Error
 * saying what is wrong (the type threw, returned a promise, or a command Loom
 * will not start); the caller records that attempt as a command that could not
 * start. The job and options are copies: the type cannot change Loom's.
 */
export function runnerCommand(name: string, t: RunnerType, job: RunnerJob, options: Record<string, unknown>): CheckedRunnerCommand {
  let out: unknown;
  try {
    out = t.command(structuredClone(job), structuredClone(options));
  } catch (e) {
    throw new Error(`runner ${name} threw building the command: ${oneLine(e)}`);
  }
  const bad = (why: string): Error => new Error(`runner ${name} built a command Loom will not start: ${why}`);
  if (typeof out !== 'object' || out === null) throw bad(`it returned ${out === null ? 'null' : typeof out}, not {argv, env?}`);
  if (typeof (out as { then?: unknown }).then === 'function') throw bad('it returned a promise; command() must return {argv, env?} at once');
  const { argv, env } = out as { argv?: unknown; env?: unknown };
  if (!Array.isArray(argv) || argv.length === 0) throw bad('argv must be a non-empty array: the program, then its arguments');
  let bytes = 0;
  for (const [i, a] of argv.entries()) {
    if (typeof a !== 'string') throw bad(`argv[${i}] is ${typeof a}, not a string`);
    if (a.includes('\u0000')) throw bad(`argv[${i}] holds a NUL character`);
    bytes += Buffer.byteLength(a) + 1;
  }
  if (argv[0] === '') throw bad('argv[0], the program, is empty');
  if (bytes > MAX_ARGV_BYTES) throw bad(`its arguments take ${bytes} bytes, over ${MAX_ARGV_BYTES}; pass large text through a file or stdin of the program`);
  const extra: Record<string, string> = {};
  if (env !== undefined) {
    if (typeof env !== 'object' || env === null || Array.isArray(env)) throw bad('env must be an object of strings');
    for (const [k, v] of Object.entries(env)) {
      if (!ENV_NAME.test(k)) throw bad(`env name ${JSON.stringify(k.slice(0, 60))} is not [A-Za-z_][A-Za-z0-9_]*`);
      if (k.startsWith('LOOM_') || k === 'PATH') throw bad(`env ${k} is Loom's to set`);
      if (typeof v !== 'string' || v.includes('\u0000')) throw bad(`env ${k} must be a string without NUL`);
      extra[k] = v;
    }
  }
  return { argv: argv as [string, ...string[]], env: extra };
}
