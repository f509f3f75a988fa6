import type { ErrorObject } from 'ajv';

// On its own, not in schemas.ts: every process reads its config (config.ts words its errors with this),
// and schemas.ts brings the API's compiled validators (~0.35 MB of code) that a command forwarding to
// the daemon, or `loom mcp`, never runs.

/** Explains ajv errors in words a person or a model can act on. */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined, root = 'input', named: 'skill' | 'workflow' = 'skill'): string {
  return (errors ?? [])
    .map((e) => {
      const where = e.instancePath === '' ? root : e.instancePath.slice(1).replace(/\//g, '.');
      if (e.keyword === 'additionalProperties') return `${where}: unknown field "${String(e.params.additionalProperty)}"`;
      if (e.keyword === 'required') return `${where}: missing required field "${String(e.params.missingProperty)}"`;
      if (e.keyword === 'pattern' && /task_id|depends_on|parent_id/.test(where)) return `${where}: must be a task id like loom-1a2b3c4d`;
      if (e.keyword === 'pattern' && where === 'name') return `name: not a ${named} name (a ${named} name matches [a-z][a-z0-9_-]*, or <plugin>/<${named}>)`;
      if (e.keyword === 'pattern' && where.startsWith('arguments')) return `${where}: an argument name matches [a-z][a-z0-9_]*`;
      if (e.keyword === 'pattern' && /labels/.test(where)) return `${where}: not a label (a label is lower case and matches [a-z0-9][a-z0-9._:-]*, 64 characters at most)`;
      if (e.keyword === 'uniqueItems' && /labels/.test(where)) return `${where}: lists a label twice`;
      if (e.keyword === 'enum') return `${where}: must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
      return `${where}: ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}
