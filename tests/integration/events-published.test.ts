/** Every committed change reaches the event bus, with the ids the event log gave it. */
import { openTestPglite } from '../support/pglite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomEvent } from '../../src/domain/events.js';
import { until } from '../support/until.js';

describe('events reach the bus after commit', () => {
  let pglite: PglitePool;
  beforeAll(async () => {
    pglite = await openTestPglite();
    await migrate(pglite.pool);
  });
  afterAll(async () => {
    await pglite.close();
  });

  it('publishes exactly the logged events of each change, and nothing for a refused one', async () => {
    const { service: api, bus } = serviceForPool(pglite.pool, { ownsPool: false });
    const project = await api.createProject({ name: 'bus' });
    await new Promise((r) => setTimeout(r, 20)); // project.created is delivered before we listen (on the next turn of the loop: setImmediate)
    const seen: LoomEvent[] = [];
    bus.subscribe(project.id, (e) => seen.push(e));
    const origin = { kind: 'test', id: 't' };
    const a = await api.createTask({ project_id: project.id, title: 'a', origin });
    const b = await api.createTask({ project_id: project.id, title: 'b', origin, depends_on: [a.id] });
    const claim = await api.claim({ project_id: project.id, agent_id: 'ag' });
    if (!claim.claimed) throw new Error('expected a claim');
    await expect(api.done({ project_id: project.id, task_id: a.id, agent_id: 'ag', lease_token: 'forged' })).rejects.toMatchObject({ code: 'LEASE_LOST' });
    await api.done({ project_id: project.id, task_id: a.id, agent_id: 'ag', lease_token: claim.lease.token });
    await until(() => seen.some((e) => e.type === 'task.unblocked'), 'the last event on the bus', 30_000);
    await new Promise((r) => setTimeout(r, 50)); // room for a stray one

    const logged = await api.events({ project_id: project.id });
    const fromLog = logged.filter((e) => e.type !== 'project.created');
    expect(seen.map((e) => [e.id, e.type, e.task_id])).toEqual(fromLog.map((e) => [e.id, e.type, e.task_id]));
    expect(seen.map((e) => e.type)).toEqual(['task.created', 'task.created', 'task.claimed', 'task.done', 'task.unblocked']);
    expect(seen.at(-1)!.task_id).toBe(b.id);
  });
});
