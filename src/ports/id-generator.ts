import type { ServiceIdentifier } from 'inversify';

/** Ids, lease tokens and the random source the retry decider's jitter uses. */
export interface IdGenerator {
  /** `loom-` + 8 hex */
  taskId(): string;
  projectId(): string;
  escalationId(): string;
  leaseToken(): string;
  /** A number in [0, 1). */
  random(): number;
}
export const IdGenerator: ServiceIdentifier<IdGenerator> = Symbol.for('loom.IdGenerator');
