import { openPostgresContractTarget } from '../support/postgres-contract-target.js';
import { CONTRACT_SERVICE_OPTIONS, taskStoreContract } from './task-store.contract.js';

// The contract on real Postgres: one fresh database for this file.
taskStoreContract('postgres', () => openPostgresContractTarget('contract', CONTRACT_SERVICE_OPTIONS, 10));
