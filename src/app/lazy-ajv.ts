import { createRequire } from 'node:module';
import type { Ajv, Options } from 'ajv';
import type { Ajv2020 } from 'ajv/dist/2020.js';

const require = createRequire(import.meta.url);
let AjvClass: typeof Ajv | undefined;
let Ajv2020Class: typeof Ajv2020 | undefined;

/**
 * A new Ajv, the library loaded on first use: loading it costs ~60 ms of CPU,
 * and a CLI command that only forwards to the daemon never validates anything
 * itself (its config is checked by a validator compiled ahead of time), nor
 * does the embedded daemon as it starts (the API's validators are compiled
 * ahead of time too; skills, workflows, archives and plans use this).
 */
export function newAjv(options: Options): Ajv {
  AjvClass ??= (require('ajv') as typeof import('ajv')).Ajv;
  return new AjvClass(options);
}

/** A new Ajv for JSON Schema draft 2020-12, loaded on first use as newAjv's. */
export function newAjv2020(options: Options): Ajv2020 {
  Ajv2020Class ??= (require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js')).Ajv2020;
  return new Ajv2020Class(options);
}
