import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { ProjectMetrics } from '../../ports/loom-api.js';
import type { ToolCallSample, ToolLatency } from '../../ports/tool-latency.js';

/** Upper bounds (seconds) of MCP tool latency: a call is milliseconds to a few seconds (decomposition, sampling). */
export const TOOL_LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Loom's metrics in the Prometheus text format, with prom-client. Two kinds:
 * tool latency is recorded in this process as calls are answered (a
 * histogram held in memory, reset when the process restarts, as Prometheus
 * expects of a process's own histograms); everything else is read from the
 * database at scrape time (ProjectMetrics) and only formatted here, into a
 * registry built for that scrape, so nothing is kept between scrapes.
 */
export class PrometheusMetrics implements ToolLatency {
  private readonly own = new Registry();
  private readonly toolLatency = new Histogram({
    name: 'loom_mcp_tool_duration_seconds',
    help: 'MCP tool calls answered by this process, by project, tool and outcome (ok or the error code)',
    labelNames: ['project', 'tool', 'code'] as const,
    buckets: TOOL_LATENCY_BUCKETS_S,
    registers: [this.own],
  });

  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  observe(s: ToolCallSample): void {
    this.toolLatency.observe({ project: s.project_id, tool: s.tool, code: s.code }, s.seconds);
  }

  /** The exposition of these projects' metrics and this process's tool latency. */
  async render(projects: readonly ProjectMetrics[]): Promise<string> {
    return Registry.merge([scrapeRegistry(projects), this.own]).metrics();
  }
}

/** A registry holding one scrape's database-derived metrics, labelled by project. */
export function scrapeRegistry(projects: readonly ProjectMetrics[]): Registry {
  const r = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames: ['project', ...labelNames], registers: [r] });
  const counter = (name: string, help: string) => new Counter({ name, help, labelNames: ['project'], registers: [r] });

  const tasks = gauge('loom_tasks', 'Tasks by status', ['status']);
  const ready = gauge('loom_ready_tasks', 'Tasks ready to claim now (pending, dependencies done, backoff over)');
  const escalations = gauge('loom_open_escalations', 'Escalations waiting for a person');
  const agents = gauge('loom_agents', 'Agents by liveness (as `loom agents` tells them)', ['liveness']);
  const runs = gauge('loom_workflow_runs', 'Workflow runs by status', ['status']);
  const behind = gauge('loom_metrics_events_behind', 'Events not yet folded into the counters (a scrape folds at most a batch)');
  const counters = {
    claims: counter('loom_claims_total', 'Claims (task.claimed events)'),
    completions: counter('loom_completions_total', 'Completions (task.done events)'),
    failures: counter('loom_failures_total', 'Reported failures (task.failed events)'),
    lease_expiries: counter('loom_lease_expiries_total', 'Leases that ran out (task.lease_expired events)'),
    retries: counter('loom_retries_total', 'Failures sent back to the queue with backoff (task.retrying events)'),
    dead_letters: counter('loom_dead_letters_total', 'Tasks dead-lettered (task.dead_lettered events)'),
  };
  const relayLag = new Gauge({ name: 'loom_relay_lag_seconds', help: 'Server mode with Redis: age of the first committed event the outbox relay has not published (0 when none)', labelNames: ['relay'], registers: [r] });

  const histogramValues: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
  const relays = new Map<string, number>();
  for (const p of projects) {
    const project = p.project_id;
    for (const [status, n] of Object.entries(p.tasks)) tasks.set({ project, status }, n);
    ready.set({ project }, p.ready);
    escalations.set({ project }, p.open_escalations);
    for (const [liveness, n] of Object.entries(p.agents)) agents.set({ project, liveness }, n);
    for (const [status, n] of Object.entries(p.workflow_runs)) runs.set({ project, status }, n);
    behind.set({ project }, p.events_behind);
    for (const [name, c] of Object.entries(counters)) c.inc({ project }, p.counters[name as keyof typeof counters]);
    const h = p.claim_to_done_seconds;
    for (const b of h.buckets) histogramValues.push({ metricName: 'loom_claim_to_done_seconds_bucket', labels: { project, le: b.le }, value: b.count });
    histogramValues.push({ metricName: 'loom_claim_to_done_seconds_bucket', labels: { project, le: '+Inf' }, value: h.count });
    histogramValues.push({ metricName: 'loom_claim_to_done_seconds_sum', labels: { project }, value: h.sum });
    histogramValues.push({ metricName: 'loom_claim_to_done_seconds_count', labels: { project }, value: h.count });
    for (const relay of p.relays) relays.set(relay.name, relay.lag_seconds); // one database: the same for every project
  }
  for (const [relay, lag] of relays) relayLag.set({ relay }, lag);
  // Bucket counts come from the database already counted: a prom-client Histogram only
  // counts observations, so this one is handed over as it is.
  const claimToDone = {
    name: 'loom_claim_to_done_seconds',
    help: "Seconds from a task's last claim to its completion",
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name: 'loom_claim_to_done_seconds', help: "Seconds from a task's last claim to its completion", type: 'histogram', aggregator: 'sum', values: histogramValues }),
    reset: () => {},
  } as unknown as Metric;
  r.registerMetric(claimToDone);
  return r;
}
