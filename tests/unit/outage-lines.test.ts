import { describe, expect, it } from 'vitest';
import { oneLinePerOutage } from '../../src/app/service-factory.js';

/** How a server-mode process reports a Redis outage: once when it starts, once when every part is back. */
describe('oneLinePerOutage', () => {
  const run = (lines: string[]): string[] => {
    const out: string[] = [];
    const log = oneLinePerOutage((l) => out.push(l));
    lines.forEach(log);
    return out;
  };

  it('says the first failure and the last recovery, whatever order the parts notice in', () => {
    expect(
      run([
        'redis event bus: cannot listen on redis://r/: connect ECONNREFUSED; events of other processes are missed until Redis answers again',
        'redis task cache: cannot use redis://r/: no reply; reads go to Postgres until Redis answers again',
        'relay: cannot publish events (ECONNREFUSED); they wait in the event log and go out when it works again',
        'redis event bus: listening on redis://r/ again',
        'redis task cache: cannot use redis://r/: still reconnecting', // an echo while the outage lasts
        'redis task cache: redis://r/ answers again',
        'relay: publishing events works again; caught up from the event log',
      ]),
    ).toEqual([
      'redis event bus: cannot listen on redis://r/: connect ECONNREFUSED; events of other processes are missed until Redis answers again',
      'relay: publishing events works again; caught up from the event log',
    ]);
  });

  it('tells the bus connections apart, drops recoveries of parts that never failed, and passes other lines through', () => {
    expect(
      run([
        'redis event bus: listening on redis://r/ again',
        'redis event bus: cannot publish to redis://r/: ECONNREFUSED; live events pause until Redis answers again',
        'redis event bus: listening on redis://r/ again', // the listening side never failed: not the end of this outage
        'redis event bus: a subscriber of project p failed on event 7 (task.done): boom',
        'redis event bus: publishing to redis://r/ works again',
        'redis event bus: cannot publish to redis://r/: ECONNREFUSED; a second outage',
      ]),
    ).toEqual([
      'redis event bus: cannot publish to redis://r/: ECONNREFUSED; live events pause until Redis answers again',
      'redis event bus: a subscriber of project p failed on event 7 (task.done): boom',
      'redis event bus: publishing to redis://r/ works again',
      'redis event bus: cannot publish to redis://r/: ECONNREFUSED; a second outage',
    ]);
  });
});
