import { openPostgresContractTarget } from '../support/postgres-contract-target.js';
import { bulkCreateContract } from './bulk-create.contract.js';
import { CONTRACT_SERVICE_OPTIONS } from './task-store.contract.js';

// Bulk create on real Postgres: one fresh database for this file.
bulkCreateContract('postgres', () => openPostgresContractTarget('bulk', CONTRACT_SERVICE_OPTIONS, 4));
