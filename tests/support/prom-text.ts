/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every
 * line is a HELP, a TYPE or a sample of a family declared before it; names,
 * label syntax, escapes and values follow the format's grammar; histogram
 * buckets are cumulative and end with +Inf equal to _count. Throws, naming
 * the line, on anything else.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): { types: Map<string, string>; samples: Sample[] } {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, i) => {
      const where = `line ${i + 1} (${JSON.stringify(line)})`;
      if (line === '') return;
      if (line.startsWith('#')) {
        const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
        if (m === null) return; // a plain comment
        const [, kind, name, rest] = m as unknown as [string, string, string, string];
        if (!NAME.test(name)) throw new Error(`bad metric name in ${where}`);
        if (kind === 'TYPE') {
          if (!TYPES.has(rest)) throw new Error(`bad type in ${where}`);
          if (types.has(name)) throw new Error(`second TYPE for ${name} in ${where}`);
          types.set(name, rest);
        } else {
          if (helped.has(name)) throw new Error(`second HELP for ${name} in ${where}`);
          if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`bad escape in HELP ${where}`);
          helped.add(name);
        }
        return;
      }
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^]*\})? ([^ ]+)(?: (-?\d+))?$/.exec(line);
      if (m === null) throw new Error(`not a sample: ${where}`);
      const name = m[1]!;
      const value = m[3]!;
      if (!VALUE.test(value)) throw new Error(`bad value in ${where}`);
      const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      const type = types.get(family);
      if (type === undefined) throw new Error(`sample of an undeclared family in ${where}`);
      if (family !== name && type !== 'histogram' && type !== 'summary') throw new Error(`suffix on a ${type} in ${where}`);
      samples.push({ name, labels: parseLabels(m[2] ?? '', where), value: Number(value.replace(/^([+-]?)Inf$/, '$1Infinity')) });
    });
  checkHistograms(types, samples);
  return { types, samples };
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === '') return labels;
  let rest = text.slice(1, -1);
  while (rest !== '') {
    const m = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(rest);
    if (m === null) throw new Error(`bad labels in ${where}`);
    const name = m[1]!;
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${name} in ${where}`);
    if (name in labels) throw new Error(`label ${name} twice in ${where}`);
    labels[name] = m[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
    if (m[3] === '' && rest !== '') throw new Error(`missing comma in ${where}`);
  }
  return labels;
}

const canonical = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

function checkHistograms(types: Map<string, string>, samples: Sample[]): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const key = canonical(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      let last = -Infinity;
      let lastCount = 0;
      for (const b of buckets) {
        const le = Number(b.labels.le!.replace('+Inf', 'Infinity'));
        if (!(le > last) || b.value < lastCount) throw new Error(`${family}${key}: buckets not ascending and cumulative`);
        last = le;
        lastCount = b.value;
      }
      if (last !== Infinity) throw new Error(`${family}${key}: no +Inf bucket`);
      const count = samples.find((s) => s.name === `${family}_count` && canonical(s.labels) === key);
      if (count === undefined || count.value !== lastCount) throw new Error(`${family}${key}: _count differs from the +Inf bucket`);
    }
  }
}

/** The value of one sample, or undefined. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
