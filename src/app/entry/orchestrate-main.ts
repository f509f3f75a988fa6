import { hostname } from 'node:os';
import { CommandRunner } from '../../adapters/runner/command-runner.js';
import { LoomError } from '../../domain/errors.js';
import { programFound, runnerCommand, runnerJobOf, SAMPLE_RUNNER_JOB } from '../../plugins/host/runners.js';
import type { LoomConnector } from '../../ports/loom-connector.js';
import type { TickReport } from '../../ports/loom-api.js';
import { loadConfig } from '../config.js';
import { startNotifiers } from '../notifications.js';
import { pluginRunner } from '../plugins.js';
import { stopOnUpgrade } from '../schema-guard.js';
import { dispatch, type DispatchResult } from '../orchestrator/dispatch.js';
import { DEFAULT_RATE_LIMIT_WAIT_MS } from '../orchestrator/rate-limit.js';

/** What `loom orchestrate` takes (the port's options) plus the environment. */
export type OrchestrateOptions = Parameters<LoomConnector['orchestrate']>[0] & { env: NodeJS.ProcessEnv; loomBin?: string };

/**
 * `loom orchestrate`: the reconcile tick on an interval (or `--once`), and
 * with `--run` the agent runner dispatching ready tasks to processes. In
 * server mode this process also owns the project's notifiers. SIGINT and
 * SIGTERM stop it: running jobs are killed (verified gone) and recorded.
 */
export async function runOrchestrator(connector: LoomConnector, o: OrchestrateOptions): Promise<{ ticks: number; dispatched: DispatchResult | null }> {
  // Built first: a bad template is refused before anything is claimed.
  const common = { env: o.env, log: (line: string) => o.out(line), ...(o.loomBin === undefined ? {} : { loomBin: o.loomBin }) };
  let runner = o.run === undefined ? null : new CommandRunner({ template: o.run, ...common });
  const controller = new AbortController();
  const opened = await connector.open(o.projectDir === undefined ? {} : { projectDir: o.projectDir });
  const { project, events } = opened;
  const config = loadConfig(project.project_dir, o.env);
  const log = (line: string): void => o.out(`${new Date().toISOString().slice(11, 19)} ${line}`);
  // A newer Loom migrated the database under this process (server mode): stop as on SIGTERM, then fail.
  const { api, ahead } = stopOnUpgrade(opened.api, { log, stop: () => controller.abort() });
  const abort = (): void => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);

  const router = project.mode === 'server' ? startNotifiers(config, events, log) : undefined; // embedded: the daemon owns them

  let ticks = 0;
  let ticking = false;
  const tick = async (): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      const r = await api.reconcile({ project_id: project.project_id });
      ticks++;
      const summary = describe(r);
      if (summary !== '' || o.once === true) log(`tick: ${summary || 'nothing to do'}`);
    } catch (e) {
      log(`tick failed: ${(e as Error).message}`);
    } finally {
      ticking = false;
    }
  };

  let dispatched: DispatchResult | null = null;
  let timer: NodeJS.Timeout | undefined;
  let runs = o.run === undefined ? '' : `\`${o.run}\``; // what the dispatch log line names
  try {
    if (o.runner !== undefined) {
      // A plugin's runner type, from the project's plugins: found and its options checked before anything is claimed.
      const name = o.runner;
      const configured = Object.hasOwn(config.orchestration.runner_options, name) ? config.orchestration.runner_options[name] : undefined;
      const found = await pluginRunner({ projectDir: project.project_dir, env: o.env, plugins: config.plugins }, name, o.runnerOptions ?? configured ?? {});
      runs = `runner ${name}${o.runnerOptions !== undefined ? ' (options from --runner-options)' : configured !== undefined ? ' (options from orchestration.runner_options in the config)' : ''}`;
      if ('problem' in found) {
        throw new LoomError('PLUGIN_RUNNER_UNAVAILABLE', `${found.problem.message} (${found.problem.code})`, { hint: found.problem.hint, details: { runner: name, problem: found.problem.code } });
      }
      // Asked once about a sample task: a runner that cannot build a command, or whose program is not
      // installed, would otherwise turn every task it is given into a dead letter.
      let program: string;
      try {
        program = runnerCommand(name, found.type, { ...SAMPLE_RUNNER_JOB, projectId: project.project_id, projectDir: project.project_dir }, found.options).argv[0];
      } catch (e) {
        throw new LoomError('PLUGIN_RUNNER_UNAVAILABLE', `${(e as Error).message} (asked about a sample task before claiming anything)`, { hint: `report it to the plugin's author; \`loom plugins info ${name.split('/')[0]}\` shows the plugin`, details: { runner: name } });
      }
      if (program !== 'loom' && !programFound(program, project.project_dir, o.env.PATH)) {
        throw new LoomError('PLUGIN_RUNNER_UNAVAILABLE', `runner ${name} runs ${program}, which is not ${program.includes('/') ? 'an executable file' : 'on the PATH'}; nothing was claimed`, {
          hint: `install ${program}, or give its path in --runner-options if the runner takes one (\`loom plugins info ${name.split('/')[0]}\` shows its options)`,
          details: { runner: name, program },
        });
      }
      runner = new CommandRunner({ build: (job) => runnerCommand(name, found.type, runnerJobOf(job), found.options), ...common });
    }
    await tick();
    if (o.once === true && runner === null) {
      throwIfAhead(ahead());
      return { ticks, dispatched };
    }
    timer = setInterval(() => void tick(), (o.intervalSeconds ?? config.orchestration.tick_seconds) * 1000);
    if (runner !== null) {
      const concurrency = o.concurrency ?? 1;
      log(`dispatching ready tasks to ${runs}, ${concurrency} at a time${o.timeoutSeconds === undefined ? '' : `, ${o.timeoutSeconds}s each at most`}`);
      dispatched = await dispatch({
        api,
        projectId: project.project_id,
        projectDir: project.project_dir,
        runner,
        agentId: o.agentId ?? `runner-${hostname()}-${process.pid}`,
        concurrency,
        timeoutMs: o.timeoutSeconds === undefined ? null : o.timeoutSeconds * 1000,
        leaseSeconds: config.tasks.lease_seconds,
        exitWhenIdle: o.exitWhenIdle === true,
        rateLimit: {
          exitCodes: o.rateLimit?.exitCodes ?? [],
          pattern: o.rateLimit?.pattern === undefined ? null : new RegExp(o.rateLimit.pattern),
          defaultWaitMs: o.rateLimit?.waitSeconds === undefined ? DEFAULT_RATE_LIMIT_WAIT_MS : o.rateLimit.waitSeconds * 1000,
        },
        signal: controller.signal,
        log,
      });
      log(`runner finished: done ${dispatched.done.length}, failed ${dispatched.failed.length}, timed out ${dispatched.timed_out.length}, released ${dispatched.released.length}, lease lost ${dispatched.lease_lost.length}, rate-limited ${dispatched.rate_limited.length}, dead-lettered ${dispatched.dead_lettered.length}`);
      if (dispatched.dead_lettered.length > 0) log(`dead letters: ${dispatched.dead_lettered.join(', ')} (\`loom dlq list\` shows why; \`loom redrive ID\` tries again); exit code 3`);
    } else {
      log(`reconciling every ${o.intervalSeconds ?? config.orchestration.tick_seconds}s; Ctrl-C stops`);
      await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    throwIfAhead(ahead());
    return { ticks, dispatched };
  } finally {
    if (timer !== undefined) clearInterval(timer);
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
    await router?.close().catch(() => undefined);
    await api.close();
  }
}

function describe(r: TickReport): string {
  return Object.entries(r)
    .filter(([, ids]) => (ids as string[]).length > 0)
    .map(([k, ids]) => `${k.replace(/_/g, ' ')} ${(ids as string[]).length}`)
    .join(', ');
}

function throwIfAhead(e: LoomError | null): void {
  if (e !== null) throw e;
}
