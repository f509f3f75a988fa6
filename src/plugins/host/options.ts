import type { ValidateFunction } from 'ajv';
import type { JsonSchema } from '../api.js';
import { newAjv } from './lazy-ajv.js';

const compiled = new WeakMap<object, ValidateFunction | Error>();

/** The compiled `optionsSchema` of a plugin's notifier or runner type (once per schema object), or why it does not compile. */
export function validatorOf(t: { optionsSchema: JsonSchema }): ValidateFunction | Error {
  let v = compiled.get(t.optionsSchema);
  if (v === undefined) {
    try {
      // An Ajv of its own per schema: one shared instance keeps every schema's $id, so a second schema
      // with a taken $id (the same plugin installed in two projects, or two plugins that copied one
      // template) would not compile, and one plugin could stop another's contributions.
      v = newAjv({ allErrors: true, strict: true }).compile(t.optionsSchema);
    } catch (e) {
      v = e instanceof Error ? e : new Error(String(e));
    }
    compiled.set(t.optionsSchema, v);
  }
  return v;
}

/** The first few reasons options failed their schema, as one line (`options.x must be ...; ...`). */
export function optionErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath === '' ? 'options' : e.instancePath.slice(1).replace(/\//g, '.')} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`)
    .join('; ');
}
