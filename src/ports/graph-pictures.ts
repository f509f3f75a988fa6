import type { ServiceIdentifier } from 'inversify';
import type { GraphPicture } from '../domain/graph-picture.js';

/**
 * Pictures of the task graph (`loom graph --format svg|html`), made in the
 * process that asks for them, never in the embedded daemon: a layout of
 * thousands of tasks takes seconds of CPU the daemon owes to every agent.
 */
export interface GraphPictures {
  /** The DOT of `picture` laid out as SVG, without a system Graphviz. GRAPH_TOO_LARGE past the limits. */
  svg(input: { dot: string; picture: GraphPicture }): Promise<string>;
  /** One self-contained, offline HTML page: the SVG, a legend, the details of each task on click. */
  html(input: { dot: string; picture: GraphPicture; title: string }): Promise<string>;
}
export const GraphPictures: ServiceIdentifier<GraphPictures> = Symbol.for('loom.GraphPictures');
