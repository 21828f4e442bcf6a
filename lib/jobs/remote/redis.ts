/**
 * The Redis connections of the remote transport (ioredis, as BullMQ uses it), and the one check
 * that turns "Redis is not there" into a clear error instead of a hang. Only lib/jobs/remote/
 * talks to Redis.
 */
import { Redis } from 'ioredis';
import { AppError } from '../../errors';

/** The URL without its password, for messages and logs. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'the configured Redis URL';
  }
}

export interface RedisConnection {
  redis: Redis;
  url: string;
  /** The last connection error seen (for messages), null while connected. */
  lastError(): string | null;
}

/**
 * A connection to `url` (redis:// or rediss:// — TLS — with an optional password) that reconnects
 * by itself. `waitForever` (workers, BullMQ's requirement) queues commands while Redis is away;
 * otherwise a command fails after about a second of disconnection, so the library's coordinator
 * can report the outage and keep its loop (and cancellation) alive.
 */
export function connectRedis(url: string, options: { waitForever: boolean }): RedisConnection {
  let last: string | null = null;
  const redis = new Redis(url, {
    maxRetriesPerRequest: options.waitForever ? null : 1,
    enableReadyCheck: true,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    lazyConnect: false,
  });
  redis.on('error', (error: Error) => {
    last = error.message || (error as NodeJS.ErrnoException).code || 'connection error';
  });
  redis.on('ready', () => {
    last = null;
  });
  return { redis, url, lastError: () => last };
}

/**
 * Resolves once Redis answers a PING; AppError('backend_unavailable') naming the URL (without its
 * password), the cause and what to do after `timeoutMs`.
 */
export async function checkRedis(connection: RedisConnection, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (connection.redis.status === 'ready') {
      try {
        await connection.redis.ping();
        return;
      } catch {
        // reconnecting: try again until the deadline
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new AppError(
    'backend_unavailable',
    `cannot reach Redis at ${describeRedisUrl(connection.url)} (LATENT_ATLAS_REDIS_URL): ${connection.lastError() ?? 'no answer'}. ` +
      'Start Redis there, or unset LATENT_ATLAS_REDIS_URL to run ingest on this machine.',
  );
}
