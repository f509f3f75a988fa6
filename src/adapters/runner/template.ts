import { LoomError } from '../../domain/errors.js';

/** POSIX single quoting: nothing inside is expanded; a `'` becomes `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Inside double quotes only `$`, `` ` ``, `"` and `\` are special; escaped, the value stays literal. */
function doubleQuoteEscape(value: string): string {
  return value.replace(/[$`"\\]/g, (c) => `\\${c}`);
}

export const PLACEHOLDERS = ['task_id', 'title', 'lease_token', 'project_id', 'project_dir', 'agent_id'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const AT = new RegExp(`\\{(${PLACEHOLDERS.join('|')})\\}`, 'y');
const ANY = new RegExp(`\\{(${PLACEHOLDERS.join('|')})\\}`);

const refused = (name: string, where: string): LoomError =>
  new LoomError('VALIDATION_FAILED', `the command template has {${name}} ${where}, where it cannot be quoted safely`, {
    hint: `write it bare (--title {${name}}) or inside double quotes ("task {${name}}"), or use the environment variable instead (e.g. "$LOOM_TASK_TITLE", "$LOOM_TASK_ID"), which is also the safe way inside a nested sh -c`,
    details: { placeholder: name },
  });

/**
 * Replaces `{task_id}`-style placeholders with the task's values so that
 * nothing in a value (a title holding quotes, `$(...)`, backticks) is ever
 * run: the template is scanned with sh's quoting rules, a placeholder in
 * plain text (or in `$(...)` or a subshell) becomes a single-quoted word,
 * one inside double quotes is backslash-escaped. Placeholders inside single
 * quotes or backticks are refused. Text handed to a nested shell
 * (`sh -c '...'`) is evaluated again by it, so there use the LOOM_*
 * variables. Unknown `{...}` text is left as it is.
 */
export function expandTemplate(template: string, values: Record<Placeholder, string>): string {
  // Open constructs: double quotes, $( ) and ( ) (their insides are plain text again), backticks.
  const stack: Array<'double' | 'paren' | 'backtick'> = [];
  let out = '';
  let i = 0;
  while (i < template.length) {
    const top = stack.at(-1);
    AT.lastIndex = i;
    const m = AT.exec(template);
    if (m !== null) {
      const name = m[1] as Placeholder;
      if (stack.includes('backtick')) throw refused(name, 'inside backticks');
      out += top === 'double' ? doubleQuoteEscape(values[name]) : shellQuote(values[name]);
      i += m[0].length;
      continue;
    }
    const c = template[i]!;
    if (c === '\\') {
      out += template.slice(i, i + 2); // an escaped character is literal
      i += 2;
      continue;
    }
    if (c === "'" && top !== 'double') {
      const end = template.indexOf("'", i + 1);
      const quoted = end === -1 ? template.slice(i) : template.slice(i, end + 1);
      const inside = ANY.exec(quoted);
      if (inside !== null) throw refused(inside[1]!, 'inside single quotes');
      out += quoted;
      i += quoted.length;
      continue;
    }
    if (c === '"') {
      if (top === 'double') stack.pop();
      else stack.push('double');
    } else if (c === '`') {
      if (top === 'backtick') stack.pop();
      else stack.push('backtick');
    } else if (c === '(' && (top !== 'double' || template[i - 1] === '$')) {
      stack.push('paren');
    } else if (c === ')' && top === 'paren') {
      stack.pop();
    }
    out += c;
    i += 1;
  }
  return out;
}
