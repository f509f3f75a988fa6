import type { BaseContext } from 'clipanion';
import type { GraphPictures } from '../../ports/graph-pictures.js';
import type { LoomConnector } from '../../ports/loom-connector.js';

/** What every command receives: the standard streams, the environment and the way into Loom. */
export interface LoomCliContext extends BaseContext {
  connector: LoomConnector;
  /** Draws `loom graph --format svg|html` in this process. */
  pictures: GraphPictures;
  env: NodeJS.ProcessEnv;
}
