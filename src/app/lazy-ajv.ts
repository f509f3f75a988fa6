import { createRequire } from 'node:module';
import type { Ajv, Options } from 'ajv';

const require = createRequire(import.meta.url);
let AjvClass: typeof Ajv | undefined;

/**
 * A new Ajv, the library loaded on first use: loading it costs ~60 ms of CPU,
 * and a CLI command that only forwards to the daemon never validates anything
 * itself (its config is checked by a validator compiled ahead of time).
 */
export function newAjv(options: Options): Ajv {
  AjvClass ??= (require('ajv') as typeof import('ajv')).Ajv;
  return new AjvClass(options);
}
