import type { ServiceIdentifier } from 'inversify';

export interface Clock {
  now(): Date;
}
export const Clock: ServiceIdentifier<Clock> = Symbol.for('loom.Clock');
