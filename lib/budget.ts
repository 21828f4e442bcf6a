/**
 * A budget of something held in memory at once — bytes of upload bodies, pixels being decoded —
 * shared by concurrent requests: each takes what it needs before it starts and gives it back when
 * done; one that does not fit waits its turn (first come, first served), and gives up after a
 * while with AppError('busy'), which the web door answers 503 with Retry-After. This is what keeps
 * twenty large uploads or a handful of decompression bombs at once from running the server out of
 * memory: they queue instead of piling up.
 */
import { AppError } from './errors';

interface Waiter {
  amount: number;
  grant: () => void;
}

export class Budget {
  private used = 0;
  private readonly queue: Waiter[] = [];

  /**
   * @param capacity what may be held at once; a single request larger than this is admitted alone.
   * @param what how a refusal names the budget ("upload memory").
   */
  constructor(
    readonly capacity: number,
    private readonly what: string,
  ) {}

  /** What is held now. */
  get inUse(): number {
    return this.used;
  }

  /** Requests waiting. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Takes `amount` (at most the capacity), waiting up to `waitMs`; resolves with the function that
   * gives it back (call it once, in a finally). Throws AppError('busy') when the wait runs out.
   */
  async take(amount: number, waitMs: number): Promise<() => void> {
    const need = Math.min(Math.max(0, amount), this.capacity);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.used -= need;
      this.grantWaiting();
    };
    if (this.queue.length === 0 && this.used + need <= this.capacity) {
      this.used += need;
      return release;
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        amount: need,
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.queue.splice(this.queue.indexOf(waiter), 1);
        this.grantWaiting(); // a large request giving up may let smaller ones behind it in
        reject(
          new AppError('busy', `the server is busy (${this.what} is in use by other requests); try again in a few seconds`, {
            retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000 / 2)),
          }),
        );
      }, waitMs);
      this.queue.push(waiter);
    });
    return release;
  }

  private grantWaiting(): void {
    for (let first = this.queue[0]; first && this.used + first.amount <= this.capacity; first = this.queue[0]) {
      this.queue.shift();
      this.used += first.amount;
      first.grant();
    }
  }
}
