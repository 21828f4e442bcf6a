/**
 * Slows down guessing of the access token: each client gets a few free wrong tries, then must wait
 * before the next one, twice as long after each further wrong token (up to `maxDelayMs`). A right
 * token clears the client's record. Memory is bounded: at most `maxClients` records, the least
 * recently seen one forgotten first, and a record idle for `forgetAfterMs` is dropped.
 *
 * A client is what the caller names (the sign-in route: the socket's address, `clientOf` in
 * access.ts). The token's length (≥ 16 characters) stays the real defence; this throttle makes
 * guessing slower still.
 */

export interface SignInThrottleOptions {
  /** Wrong tokens allowed before any wait. Default 3. */
  freeTries?: number;
  /** The first wait, doubled after each further wrong token. Default 1 s. */
  baseDelayMs?: number;
  /** The longest wait. Default 5 minutes. */
  maxDelayMs?: number;
  /** A client not seen for this long starts afresh. Default 15 minutes. */
  forgetAfterMs?: number;
  /** Clients remembered at once (the memory bound). Default 10,000 (about 1 MB). */
  maxClients?: number;
  /** The clock (tests pass their own). Default Date.now. */
  now?: () => number;
}

interface ClientRecord {
  failures: number;
  /** No attempt is judged before this time. */
  blockedUntil: number;
  lastSeen: number;
}

export class SignInThrottle {
  private readonly clients = new Map<string, ClientRecord>();
  private readonly freeTries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly forgetAfterMs: number;
  private readonly maxClients: number;
  private readonly now: () => number;

  constructor(options: SignInThrottleOptions = {}) {
    this.freeTries = options.freeTries ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.forgetAfterMs = options.forgetAfterMs ?? 15 * 60_000;
    this.maxClients = options.maxClients ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds `client` must still wait before a token is checked; 0 when it may try now. */
  waitMs(client: string): number {
    const record = this.current(client);
    return record ? Math.max(0, record.blockedUntil - this.now()) : 0;
  }

  /** Records a wrong token; returns how long the client must now wait (0 while tries are free). */
  fail(client: string): number {
    const now = this.now();
    const record = this.current(client) ?? { failures: 0, blockedUntil: 0, lastSeen: now };
    record.failures += 1;
    record.lastSeen = now;
    const extra = record.failures - this.freeTries;
    const delay = extra > 0 ? Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (extra - 1)) : 0;
    record.blockedUntil = now + delay;
    this.remember(client, record);
    return delay;
  }

  /** A right token: the client starts afresh. */
  succeed(client: string): void {
    this.clients.delete(client);
  }

  /** Clients remembered now (for tests and the memory bound). */
  get size(): number {
    return this.clients.size;
  }

  /** The client's record, unless it has been idle long enough to be forgotten. */
  private current(client: string): ClientRecord | undefined {
    const record = this.clients.get(client);
    if (record && this.now() - record.lastSeen > this.forgetAfterMs && this.now() >= record.blockedUntil) {
      this.clients.delete(client);
      return undefined;
    }
    return record;
  }

  /** Stores the record as the most recently seen (Map order is insertion order), evicting the oldest beyond the bound. */
  private remember(client: string, record: ClientRecord): void {
    this.clients.delete(client);
    this.clients.set(client, record);
    while (this.clients.size > this.maxClients) {
      const oldest = this.clients.keys().next().value;
      if (oldest === undefined) break;
      this.clients.delete(oldest);
    }
  }
}
