/**
 * Concurrent edits of one project's graph: rewiring a task and its epic,
 * adding children to the epic that depend on that task, clearing and
 * restoring another task's dependencies, while agents claim and complete
 * work. On Postgres these ran into deadlocks (40P01) that reached callers as
 * INTERNAL; every call must now succeed or fail with a coded, expected error.
 * The embedded store serialises transactions on its one connection: the
 * same mix must hold there too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoomError } from '../../src/domain/errors.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { seededRandom } from '../contract/task-store.contract.js';
import { usePgServices } from '../support/pg-services.js';
import { openEmbeddedService, type EmbeddedService } from '../support/embedded-service.js';

const ORIGIN = { kind: 'test', id: 'graph-edits' };
/** How long each worker keeps editing. */
const RUN_MS = 6_000;
/** Codes a call in this mix may legitimately get: anything else (INTERNAL above all) is a bug. */
const EXPECTED = new Set(['INVALID_TRANSITION', 'LEASE_LOST', 'CONFLICT']);

interface Tally {
  ok: number;
  byCode: Map<string, number>;
  /** One message of each expected code, for the record. */
  expected: Map<string, string>;
  unexpected: unknown[];
}

async function runMix(apis: LoomApi[], seed: number): Promise<Tally> {
  const api = apis[0]!;
  const { id: p } = await api.createProject({ name: `graph edits ${seed}` });
  const mk = async (title: string, extra: Record<string, unknown> = {}) =>
    (await api.createTask({ project_id: p, title, origin: ORIGIN, ...extra })).id;
  const ys: string[] = [];
  for (let i = 0; i < 8; i++) ys.push(await mk(`y${i}`));
  const x = await mk('x');
  const epic = await mk('epic', { epic: true });
  const z = await mk('z', { depends_on: [ys[0]!] });

  const tally: Tally = { ok: 0, byCode: new Map(), expected: new Map(), unexpected: [] };
  const deadline = Date.now() + RUN_MS;
  // On a loaded machine RUN_MS may hold too few calls to interleave anything: go on until enough
  // have succeeded (expectClean wants more than 50), within a generous bound.
  const bound = Date.now() + 90_000; // inside the 120 s test timeout
  const going = (): boolean => Date.now() < deadline || (tally.ok <= 60 && Date.now() < bound);
  const random = seededRandom(seed);
  const pick = (n: number) => ys.filter(() => random() < n / ys.length);
  const call = async (fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
      tally.ok++;
    } catch (e) {
      const code = LoomError.is(e) ? e.code : 'THROWN';
      tally.byCode.set(code, (tally.byCode.get(code) ?? 0) + 1);
      if (!EXPECTED.has(code)) tally.unexpected.push(e);
      else if (!tally.expected.has(code)) tally.expected.set(code, LoomError.is(e) ? e.message : String(e));
    }
  };
  const on = (i: number) => apis[i % apis.length]!;

  const rewire = async (i: number) => {
    while (going()) {
      await call(() => on(i).updateTask({ project_id: p, task_id: x, depends_on: pick(2) }));
      await call(() => on(i).updateTask({ project_id: p, task_id: epic, depends_on: pick(2) }));
    }
  };
  const children = async (i: number) => {
    while (going()) {
      await call(() => on(i).createTask({ project_id: p, title: 'child', origin: ORIGIN, parent_id: epic, depends_on: [x] }));
    }
  };
  const clear = async (i: number) => {
    while (going()) {
      await call(() => on(i).updateTask({ project_id: p, task_id: z, depends_on: [] }));
      await call(() => on(i).updateTask({ project_id: p, task_id: z, depends_on: pick(3) }));
    }
  };
  // Agents keep the statuses moving: new dependencies appear, claims and completions release them.
  const work = async (i: number) => {
    while (going()) {
      await call(async () => {
        const fresh = await on(i).createTask({ project_id: p, title: 'work', origin: ORIGIN });
        ys.push(fresh.id);
        const claimed = await on(i).claim({ project_id: p, agent_id: `agent-${i}`, task_id: fresh.id });
        if (claimed.claimed) {
          await on(i).done({ project_id: p, task_id: claimed.task.id, agent_id: `agent-${i}`, lease_token: claimed.lease.token });
        }
      });
    }
  };
  await Promise.all([rewire(0), rewire(1), children(2), children(3), clear(4), work(5), work(6)]);
  // Whatever interleaved, the stored graph keeps its invariants (counters, weights, epics, events).
  const fsck = await api.fsck({ project_id: p });
  expect(fsck.violations).toEqual([]);
  return tally;
}

function expectClean(tally: Tally): void {
  const summary = { ok: tally.ok, ...Object.fromEntries(tally.byCode), examples: Object.fromEntries(tally.expected) };
  console.log(JSON.stringify(summary));
  expect(tally.unexpected.map((e) => (LoomError.is(e) ? `${e.code}: ${e.message}` : String(e))), JSON.stringify(summary)).toEqual([]);
  expect(tally.ok).toBeGreaterThan(50);
}

describe('concurrent graph edits on Postgres', () => {
  const pg = usePgServices('graph_edits');
  it('never answers INTERNAL: deadlocks are avoided by lock order, or retried, or CONFLICT', async () => {
    const apis = Array.from({ length: 4 }, () => pg.service());
    expectClean(await runMix(apis, 7));
  });
});

describe('concurrent graph edits on the embedded store', () => {
  let embedded: EmbeddedService;
  beforeAll(async () => {
    embedded = await openEmbeddedService();
  });
  afterAll(async () => embedded?.close());
  it('never answers INTERNAL', async () => {
    expectClean(await runMix([embedded.api], 11));
  });
});
