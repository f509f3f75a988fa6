import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * The Redis for tests. A container runtime, where one exists, gives a
 * throwaway Redis (testcontainers); otherwise the server named by
 * LOOM_TEST_REDIS_URL, falling back to the local service. That Redis may be
 * shared with other processes, so each test file works under a key prefix of
 * its own (`uniquePrefix`) and deletes only its own keys afterwards
 * (`deleteKeys`); never FLUSHALL or FLUSHDB.
 */
let serverUrl: Promise<string> | undefined;

async function containerUrl(): Promise<string | null> {
  if (process.env.LOOM_TEST_REDIS_URL !== undefined) return null;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
  } catch {
    return null; // no container runtime here: use the service
  }
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7-alpine').start();
  return container.getConnectionUrl();
}

export function testRedisUrl(): Promise<string> {
  serverUrl ??= containerUrl().then((u) => u ?? process.env.LOOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  return serverUrl;
}

/** `loom-test:<label>:<random>:`, a key prefix no other test file (or run) uses. */
export function uniquePrefix(label: string): string {
  const safe = label.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  return `loom-test:${safe}:${randomBytes(5).toString('hex')}:`;
}

/** Deletes every key under `prefix` (SCAN + UNLINK); returns how many. */
export async function deleteKeys(prefix: string): Promise<number> {
  if (!prefix.startsWith('loom-test:')) throw new Error(`refusing to delete keys outside loom-test:* (got ${prefix})`);
  const redis = new Redis(await testRedisUrl());
  try {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    await redis.quit();
  }
}
