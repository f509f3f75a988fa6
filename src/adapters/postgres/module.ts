import { ContainerModule } from '#inversify';
import type pg from 'pg';
import { OutboxStore } from '../../ports/outbox.js';
import { TaskStore } from '../../ports/task-store.js';
import { PgOutboxStore } from './pg-outbox-store.js';
import { PgTaskStore, type PgTaskStoreOptions } from './pg-task-store.js';

/**
 * The SQL task store over a pool (real Postgres, or PGlite through its pg
 * adapter), and the outbox relay's cursor over the same pool (the store owns
 * the pool).
 */
export const postgresModule = (pool: pg.Pool, options: PgTaskStoreOptions): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(TaskStore).toConstantValue(new PgTaskStore(pool, options));
    bind(OutboxStore).toConstantValue(new PgOutboxStore(pool, false));
  });
