import { openEmbeddedService } from '../support/embedded-service.js';
import { CONTRACT_SERVICE_OPTIONS, taskStoreContract } from './task-store.contract.js';

// The contract on the embedded store: one in-memory PGlite for this file
// (it takes a second or two to start); every test works in its own project.
taskStoreContract('embedded (PGlite)', () => openEmbeddedService(CONTRACT_SERVICE_OPTIONS));
