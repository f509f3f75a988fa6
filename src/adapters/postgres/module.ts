import { ContainerModule } from 'inversify';
import type pg from 'pg';
import { TaskStore } from '../../ports/task-store.js';
import { PgTaskStore } from './pg-task-store.js';

/** The SQL task store over a pool: real Postgres, or PGlite through its pg adapter. */
export const postgresModule = (pool: pg.Pool, ownsPool: boolean): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(TaskStore).toConstantValue(new PgTaskStore(pool, ownsPool));
  });
