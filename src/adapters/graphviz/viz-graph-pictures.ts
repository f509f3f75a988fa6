import { LoomError } from '../../domain/errors.js';
import { assertDrawable, type GraphPicture } from '../../domain/graph-picture.js';
import type { GraphPictures } from '../../ports/graph-pictures.js';
import { htmlPage } from './html-page.js';

type Viz = Awaited<ReturnType<typeof import('@viz-js/viz').instance>>;

/**
 * Graphviz compiled to WASM (@viz-js/viz), imported on the first picture
 * only: `loom` starts without loading it.
 */
export class VizGraphPictures implements GraphPictures {
  private viz: Promise<Viz> | undefined;

  async svg(input: { dot: string; picture: GraphPicture }): Promise<string> {
    assertDrawable(input.picture);
    this.viz ??= import('@viz-js/viz').then((m) => m.instance());
    const result = (await this.viz).render(input.dot, { format: 'svg' });
    if (result.status !== 'success') {
      const messages = result.errors.map((e) => e.message.trim()).join('; ');
      throw new LoomError('INTERNAL', `Graphviz could not lay out the graph: ${messages}`, {
        hint: 'write --format dot and try a system Graphviz, or draw one epic with --epic ID',
      });
    }
    return result.output;
  }

  async html(input: { dot: string; picture: GraphPicture; title: string }): Promise<string> {
    const svg = await this.svg(input);
    return htmlPage({ svg, picture: input.picture, title: input.title });
  }
}
