import { createRequire } from 'node:module';
import type { Ajv, Options } from 'ajv';

let AjvClass: typeof Ajv | undefined;

/**
 * A new Ajv, the library loaded on first use (~60 ms): the plugin host's
 * manifest and notifier-options checks run only when there are plugins, and
 * the embedded daemon's start must not pay for them otherwise. (The app's own
 * is src/app/lazy-ajv.ts; the layering rules keep the plugin host from it.)
 */
export function newAjv(options: Options): Ajv {
  AjvClass ??= (createRequire(import.meta.url)('ajv') as typeof import('ajv')).Ajv;
  return new AjvClass(options);
}
