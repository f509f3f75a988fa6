import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import { CONTRACT_SERVICE_OPTIONS, taskStoreContract } from './task-store.contract.js';

// The contract on the embedded store: one in-memory PGlite for this file
// (it takes a second or two to start); every test works in its own project.
taskStoreContract('embedded (PGlite)', async () => {
  const lite = await openPglitePool(undefined);
  try {
    await migrate(lite.pool);
  } catch (e) {
    await lite.close();
    throw e;
  }
  const { service } = serviceForPool(lite.pool, { ...CONTRACT_SERVICE_OPTIONS, ownsPool: false });
  return {
    api: service,
    pool: lite.pool,
    async close() {
      await service.close();
      await lite.close();
    },
  };
});
