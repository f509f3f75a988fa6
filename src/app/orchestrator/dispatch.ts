import { LoomError } from '../../domain/errors.js';
import type { JsonObject, Lease, Task } from '../../domain/task.js';
import { usageFromOutput, type UsageReport } from '../../domain/usage.js';
import type { AgentRunner, RunningJob, RunOutcome } from '../../ports/agent-runner.js';
import type { ClaimBatchResult, LoomApi } from '../../ports/loom-api.js';
import { usageProblem } from '../schemas.js';
import { DEFAULT_RATE_LIMIT_RULE, detectRateLimit, type RateLimitRule } from './rate-limit.js';

export interface DispatchOptions {
  api: LoomApi;
  projectId: string;
  projectDir: string;
  runner: AgentRunner;
  /** Slot N claims as `${agentId}-${N}`. */
  agentId: string;
  /** Most jobs running at once. */
  concurrency: number;
  timeoutMs: number | null;
  /** Lease asked for at claim and renewed every third of it while the job runs. */
  leaseSeconds: number;
  /** Return once nothing is ready, claimed (by anyone) or waiting on a retry backoff. */
  exitWhenIdle: boolean;
  /** Wait between claims when nothing is ready; default 1000. */
  pollMs?: number;
  /** Aborting it shuts down: no more claims; running jobs are killed and recorded as failed (retryable). */
  signal?: AbortSignal;
  /** How a rate-limited job is told from a failed one (default: Claude Code's messages only). */
  rateLimit?: RateLimitRule;
  log: (line: string) => void;
}

/** What was recorded, one entry per attempt (a task retried twice can appear twice). */
export interface DispatchResult {
  done: string[];
  /** Given back unfinished (released, no attempt used) when the runner shut down. */
  released: string[];
  /** Recorded failed: non-zero exits, start failures. */
  failed: string[];
  /** Of the failures (and time-outs), those that used the task's last attempt or could not be retried: now dead letters. */
  dead_lettered: string[];
  timed_out: string[];
  /** Jobs stopped because their lease went elsewhere (expired, cancelled): nothing was recorded. */
  lease_lost: string[];
  /** Given back rate-limited (no attempt used, ready again at the reset); claims paused until then. */
  rate_limited: string[];
}

/** Shared by the loop and its jobs: new claims wait until this time (ms since the epoch). */
interface Pause {
  until: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const isLeaseLost = (e: unknown): boolean => LoomError.is(e) && e.code === 'LEASE_LOST';
/** Worth retrying later (the daemon restarting, the database away); anything else is a fault to report. */
const isTransient = (e: unknown): boolean => !LoomError.is(e) || e.code === 'DAEMON_UNAVAILABLE' || e.code === 'DATABASE_UNAVAILABLE' || e.code === 'INTERNAL';
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const OUTPUT_TAIL_BYTES = 4096;

function lastBytes(text: string, n: number): string {
  const b = Buffer.from(text, 'utf8');
  return b.length <= n ? text : b.subarray(b.length - n).toString('utf8');
}

/** The task's output: stdout when it is one JSON object, else the end of stdout. */
export function outputFromStdout(stdout: string): JsonObject {
  const text = stdout.trim();
  if (text.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as JsonObject;
    } catch {
      // not JSON: kept as text below
    }
  }
  return { stdout: lastBytes(stdout, OUTPUT_TAIL_BYTES) };
}

/**
 * The agent runner loop: claims ready tasks into at most `concurrency` slots
 * (every free slot in one batch claim),
 * runs each through the runner while heartbeating its lease, and records the
 * outcome under that lease.
 *
 * Never two runners on one task: a job exists only for a claim this loop won
 * (the claim is one conditional update, so concurrent dispatchers and agents
 * each get different tasks), every record is fenced by the lease token, and a
 * heartbeat refused with LEASE_LOST (the lease expired and the task went
 * elsewhere, or it was cancelled) kills the job and records nothing. A
 * timed-out or shut-down job is recorded only after its process tree is
 * verified gone, so the retry can never overlap it.
 */
export async function dispatch(o: DispatchOptions): Promise<DispatchResult> {
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${o.concurrency}`);
  const pollMs = o.pollMs ?? 1000;
  const result: DispatchResult = { done: [], failed: [], dead_lettered: [], timed_out: [], lease_lost: [], released: [], rate_limited: [] };
  const pause: Pause = { until: 0 };
  let paused = false; // what the loop last said about the pause
  let waitingFor = ''; // what an --exit-when-idle loop last said it waits for
  let budgetSaid = ''; // the last BUDGET_EXCEEDED a claim answered (said once)
  const slots = new Map<number, { job: RunningJob | null; finished: Promise<void> }>();
  const aborted = new Promise<void>((resolve) => {
    if (o.signal === undefined) return;
    if (o.signal.aborted) resolve();
    else o.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const stopping = (): boolean => o.signal?.aborted === true;

  let fatal: unknown = null;
  while (!stopping() && fatal === null) {
    let idle = false; // nothing claimable now (or the claim failed): poll later
    const pausedFor = pause.until - Date.now();
    if (pausedFor > 0) {
      // A job hit the agent's rate limit: no new claims with this command until it resets.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([aborted, ...[...slots.values()].map((s) => s.finished), new Promise((r) => (timer = setTimeout(r, pausedFor)))]);
      clearTimeout(timer);
      paused = true;
      continue;
    }
    if (paused) {
      paused = false;
      o.log('rate limit reset: resuming dispatch');
    }
    // Every free slot in one claim: slot N's task is leased to `${agentId}-${N}`.
    const free = Array.from({ length: o.concurrency }, (_, slot) => slot).filter((slot) => !slots.has(slot));
    if (free.length > 0 && !stopping()) {
      let claimed: ClaimBatchResult['claims'] = [];
      try {
        const agentIds = free.map((slot) => `${o.agentId}-${slot}`);
        claimed = (await o.api.claimBatch({ project_id: o.projectId, agent_id: o.agentId, agent_ids: agentIds, lease_seconds: o.leaseSeconds })).claims;
      } catch (e) {
        if (LoomError.is(e) && e.code === 'BUDGET_EXCEEDED') {
          // A spent budget holds the rest: jobs running go on; new claims wait for a person to raise it.
          if (budgetSaid !== e.message) o.log(`budget spent: ${e.message}; ${e.hint ?? ''}`.trim());
          budgetSaid = e.message;
        } else {
          if (!isTransient(e)) fatal = e;
          o.log(`claim failed: ${message(e)}`);
        }
      }
      // Fewer tasks than free slots: nothing more is ready now.
      if (claimed.length < free.length) idle = true;
      for (const { task, lease } of claimed) {
        const slot = free.find((s) => `${o.agentId}-${s}` === task.assignee)!;
        const entry: { job: RunningJob | null; finished: Promise<void> } = { job: null, finished: Promise.resolve() };
        entry.finished = runOne(o, task.assignee!, task, lease, result, pause, (job) => (entry.job = job)).finally(() => slots.delete(slot));
        slots.set(slot, entry);
      }
    }
    if (stopping() || fatal !== null) break;

    if (o.exitWhenIdle && idle && slots.size === 0) {
      try {
        const { counts, held_counts } = await o.api.overview({ project_id: o.projectId });
        // Held pending tasks wait for a person (`loom resume`), not for a backoff: they do not keep the runner.
        const retrying = counts.pending - (held_counts?.pending ?? 0);
        // Nothing ready (the claim found none), nobody holds a claim, no retry waits on its backoff.
        if (counts.claimed === 0 && retrying === 0) {
          o.log('idle: nothing ready, claimed or waiting to retry; exiting');
          break;
        }
        // Say what keeps it from exiting, once per change, instead of minutes of silence.
        const now = [
          counts.claimed > 0 ? `${counts.claimed} task${counts.claimed === 1 ? '' : 's'} claimed by other agents` : '',
          retrying > 0 ? `${retrying} waiting to retry after a backoff` : '',
        ].filter((x) => x !== '').join(' and ');
        if (now !== waitingFor) {
          waitingFor = now;
          o.log(`idle: waiting for ${now} (\`loom status\` shows them); exits when none is left`);
        }
        if (counts.claimed > 0) {
          // Only others' claims are out. One whose agent died would keep this loop waiting until a
          // reconcile tick requeues it; do that much here (idempotent, safe beside a running tick).
          const r = await o.api.recoverLeases({ project_id: o.projectId });
          if (r.requeued.length + r.dead_lettered.length > 0) {
            o.log(`expired leases: requeued ${r.requeued.join(', ') || 'none'}; dead-lettered ${r.dead_lettered.join(', ') || 'none'}`);
          }
        }
      } catch (e) {
        o.log(`idle check failed: ${message(e)}`);
      }
    }
    // Wake on a finished job (its slot is free, its dependents may be ready), the poll interval, or shutdown.
    let timer: NodeJS.Timeout | undefined;
    const waits: Promise<unknown>[] = [aborted, ...[...slots.values()].map((s) => s.finished)];
    if (idle) waits.push(new Promise((r) => (timer = setTimeout(r, pollMs))));
    await Promise.race(waits);
    clearTimeout(timer);
  }

  if (slots.size > 0 && (stopping() || fatal !== null)) {
    o.log(`shutting down: stopping ${slots.size} running job(s)`);
    await Promise.all([...slots.values()].map((s) => s.job?.kill('shutdown')));
  }
  await Promise.all([...slots.values()].map((s) => s.finished));
  if (fatal !== null) throw fatal;
  return result;
}

/** One claimed task: run it, keep its lease alive, record how it ended. Never rejects. */
async function runOne(
  o: DispatchOptions,
  agentId: string,
  task: Task,
  lease: Lease,
  result: DispatchResult,
  pause: Pause,
  started: (job: RunningJob) => void,
): Promise<void> {
  const leaseInput = { project_id: o.projectId, task_id: task.id, agent_id: agentId, lease_token: lease.token };
  let job: RunningJob;
  try {
    job = o.runner.start({ task, lease_token: lease.token, agent_id: agentId, project_id: o.projectId, project_dir: o.projectDir, timeout_ms: o.timeoutMs });
  } catch (e) {
    const failed: Promise<RunOutcome> = Promise.resolve({ kind: 'spawn_failed', message: message(e) });
    job = { pid: undefined, result: failed, kill: async () => {} };
  }
  started(job);
  if (job.pid !== undefined) o.log(`${task.id} started as pid ${job.pid} (${agentId}): ${task.title}`);

  // Heartbeats: one at a time, every third of the lease.
  let leaseLost = false;
  let selfReported = false;
  let beating: Promise<void> = Promise.resolve();
  const beat = async (): Promise<void> => {
    try {
      await o.api.heartbeat({ ...leaseInput, lease_seconds: o.leaseSeconds });
    } catch (e) {
      if (!isLeaseLost(e)) {
        o.log(`${task.id}: heartbeat failed (will retry): ${message(e)}`);
        return;
      }
      // The process may have reported done itself (through the CLI, with this lease) and not exited yet.
      if (await isDone(o, task.id)) {
        selfReported = true;
        return;
      }
      leaseLost = true;
      o.log(`${task.id}: lease lost (${message(e)}): stopping its process; nothing will be recorded`);
      void job.kill('lease_lost');
    }
  };
  const timer = setInterval(() => {
    if (leaseLost || selfReported) return;
    beating = beating.then(beat);
  }, Math.max(100, (o.leaseSeconds * 1000) / 3));

  const outcome = await job.result.catch((e: unknown): RunOutcome => ({ kind: 'spawn_failed', message: `the runner failed: ${message(e)}` }));
  clearInterval(timer);
  await beating;
  if (leaseLost) {
    result.lease_lost.push(task.id);
    return;
  }
  await record(o, task, leaseInput, outcome, result, pause);
}

/** Whether the task is done now (`status` hides lease tokens, so not by whom: a lost lease means it was not by this loop). */
async function isDone(o: DispatchOptions, taskId: string): Promise<boolean> {
  try {
    return (await o.api.status({ project_id: o.projectId, task_id: taskId })).task.status === 'done';
  } catch {
    return false;
  }
}

async function record(
  o: DispatchOptions,
  task: Task,
  leaseInput: { project_id: string; task_id: string; agent_id: string; lease_token: string },
  outcome: RunOutcome,
  result: DispatchResult,
  pause: Pause,
): Promise<void> {
  const fail = async (reason: string, retryable: boolean, into: string[]): Promise<void> => {
    const r = await withRetries(() => o.api.fail({ ...leaseInput, reason, retryable, ...withUsage }));
    into.push(task.id);
    if (r.outcome !== 'retrying') result.dead_lettered.push(task.id);
    o.log(`${task.id} failed (${r.outcome === 'retrying' ? `retry after ${r.run_after}` : 'dead letter'}): ${reason}`);
  };
  const usage = outcome.kind === 'exited' ? usageOf(o, task, outcome.stdout) : undefined;
  const withUsage = usage === undefined ? {} : { usage };
  try {
    switch (outcome.kind) {
      case 'exited':
        if (outcome.code === 0) {
          // Fenced by the lease: if the process already reported done through the CLI with it, this
          // changes nothing (already_done, or CONFLICT when its output differs from stdout's) and its own report and output stand.
          const r = await withRetries(() => o.api.done({ ...leaseInput, output: outputFromStdout(outcome.stdout), ...withUsage })).catch((e: unknown) => {
            if (LoomError.is(e) && e.code === 'CONFLICT' && e.details?.already_done === true) return { already_done: true };
            throw e;
          });
          result.done.push(task.id);
          o.log(`${task.id} done${r.already_done ? ' (reported by its process)' : ''}`);
          return;
        }
        {
          const hit = detectRateLimit(outcome, o.rateLimit ?? DEFAULT_RATE_LIMIT_RULE, new Date());
          if (hit !== null) {
            const r = await withRetries(() =>
              o.api.fail({ ...leaseInput, reason: `rate-limited (exit code ${outcome.code}): ${hit.why}`, rate_limited: { reset_at: hit.reset_at.toISOString() }, ...withUsage }),
            );
            result.rate_limited.push(task.id);
            const until = new Date(r.run_after ?? hit.reset_at.toISOString()).getTime();
            if (until > pause.until) {
              pause.until = until;
              o.log(`${task.id} rate-limited (${hit.why}): no attempt used; new claims paused until ${new Date(until).toISOString()} (in ${Math.max(0, Math.round((until - Date.now()) / 60_000))} min)`);
            } else {
              o.log(`${task.id} rate-limited (${hit.why}): no attempt used; ready again at ${r.run_after}`);
            }
            return;
          }
        }
        await fail(`exit code ${outcome.code}${outcome.stderr_tail.trim() === '' ? '' : `: ${outcome.stderr_tail.trim()}`}`, true, result.failed);
        return;
      case 'killed':
        if (outcome.reason === 'timeout') {
          await fail(`timed out after ${(o.timeoutMs ?? 0) / 1000} s; its process tree was killed`, true, result.timed_out);
        } else {
          // Stopping the runner is not the task failing: give it back without using an attempt.
          await withRetries(() => o.api.release({ ...leaseInput, reason: 'the runner shut down' }));
          result.released.push(task.id);
          o.log(`${task.id} released: the runner shut down`);
        }
        return;
      case 'spawn_failed':
        await fail(`could not start the agent command: ${outcome.message}`, false, result.failed);
        return;
    }
  } catch (e) {
    if (isLeaseLost(e) && (await isDone(o, task.id))) {
      // Its process reported done through the CLI, then exited non-zero or ran past the timeout: the report stands.
      result.done.push(task.id);
      o.log(`${task.id} done (reported by its process; what came after changes nothing)`);
    } else if (isLeaseLost(e)) {
      result.lease_lost.push(task.id);
      o.log(`${task.id}: lease lost before the outcome (${outcome.kind}) could be recorded: ${message(e)}`);
    } else {
      o.log(`${task.id}: could not record the outcome (${outcome.kind}): ${message(e)}; the lease will expire and requeue it`);
    }
  }
}

/**
 * The usage the job's stdout reports (see usageFromOutput: a Claude Code JSON result, or a
 * `{"loom_usage": {...}}` / `{"usage": {...}}` line; the last one wins). Usage out of bounds is
 * logged and left out: the outcome is recorded all the same.
 */
function usageOf(o: DispatchOptions, task: Task, stdout: string): UsageReport | undefined {
  const usage = usageFromOutput(stdout);
  if (usage === null) return undefined;
  const problem = usageProblem(usage);
  if (problem === null) return usage;
  o.log(`${task.id}: usage in its output not recorded (${problem})`);
  return undefined;
}

/** A report retried a few times through transient errors (a daemon restart); fenced by the lease, so repeating is safe. */
async function withRetries<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !isTransient(e)) throw e;
      await sleep(250 * i);
    }
  }
}
