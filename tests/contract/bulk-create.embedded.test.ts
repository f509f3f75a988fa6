import { openEmbeddedService } from '../support/embedded-service.js';
import { bulkCreateContract } from './bulk-create.contract.js';
import { CONTRACT_SERVICE_OPTIONS } from './task-store.contract.js';

// Bulk create on the embedded store: one in-memory PGlite for this file.
bulkCreateContract('embedded (PGlite)', () => openEmbeddedService(CONTRACT_SERVICE_OPTIONS));
