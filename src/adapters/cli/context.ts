import type { BaseContext } from 'clipanion';
import type { LoomConnector } from '../../ports/loom-connector.js';

/** What every command receives: the standard streams, the environment and the way into Loom. */
export interface LoomCliContext extends BaseContext {
  connector: LoomConnector;
  env: NodeJS.ProcessEnv;
}
