import 'reflect-metadata';
import pg from 'pg';
import { migrate } from '/work/wt-bulk/dist/src/adapters/postgres/migrator.js';
import { serviceForPool, SERVER_MODE } from '/work/wt-bulk/dist/src/app/service-factory.js';
import { benchDatabase } from '/work/wt-bulk/dist/bench/support/database.js';
const db = await benchDatabase('prof');
const pool = new pg.Pool({ connectionString: db.url, max: 4 });
await migrate(pool);
const q0 = pg.Client.prototype.query;
globalThis.T = [];
pg.Client.prototype.query = function (text, ...rest) {
  const t0 = performance.now();
  const r = q0.call(this, text, ...rest);
  const label = (typeof text === 'string' ? text : text?.text ?? '').replace(/\s+/g, ' ').slice(0, 70);
  if (r && r.then) r.then(() => globalThis.T.push([Math.round(performance.now() - t0), label]), () => {});
  return r;
};
const { service } = serviceForPool(pool, { ...SERVER_MODE, ownsPool: false });
const n = Number(process.argv[2] ?? 1000);
for (let r = 0; r < 4; r++) {
  const p = (await service.createProject({ name: 'p' + r })).id;
  const tasks = [...Array.from({ length: n }, (_, i) => ({ key: `c${i}`, title: `child ${i}` })), { key: 'parent', title: 'G', depends_on: Array.from({ length: n }, (_, i) => `c${i}`) }];
  const t0 = performance.now();
  await service.createTasks({ project_id: p, origin: { kind: 'b', id: 'b' }, tasks });
  console.log(n, 'ms', Math.round(performance.now() - t0)); console.log(globalThis.T.map(x=>x.join(' ')).join('\n')); globalThis.T = [];
}
await pool.end(); await db.drop();
