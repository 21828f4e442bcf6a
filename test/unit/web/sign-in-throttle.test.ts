import { describe, expect, it } from 'vitest';
import { SignInThrottle } from '../../../app/_server/sign-in-throttle';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('SignInThrottle', () => {
  it('lets the free tries through, then doubles the wait after each wrong token, up to the maximum', () => {
    const c = clock();
    const throttle = new SignInThrottle({ freeTries: 2, baseDelayMs: 1000, maxDelayMs: 4000, now: c.now });
    expect(throttle.fail('a')).toBe(0);
    expect(throttle.waitMs('a')).toBe(0);
    expect(throttle.fail('a')).toBe(0);
    expect(throttle.fail('a')).toBe(1000);
    expect(throttle.waitMs('a')).toBe(1000);
    c.advance(400);
    expect(throttle.waitMs('a')).toBe(600);
    c.advance(600);
    expect(throttle.waitMs('a')).toBe(0);
    expect(throttle.fail('a')).toBe(2000);
    expect(throttle.fail('a')).toBe(4000);
    expect(throttle.fail('a')).toBe(4000);
  });

  it('keeps clients apart, and a right token clears the record', () => {
    const c = clock();
    const throttle = new SignInThrottle({ freeTries: 0, baseDelayMs: 1000, now: c.now });
    throttle.fail('a');
    expect(throttle.waitMs('a')).toBe(1000);
    expect(throttle.waitMs('b')).toBe(0);
    throttle.succeed('a');
    expect(throttle.waitMs('a')).toBe(0);
    expect(throttle.fail('a')).toBe(1000);
  });

  it('forgets a client idle for long enough', () => {
    const c = clock();
    const throttle = new SignInThrottle({ freeTries: 0, baseDelayMs: 1000, forgetAfterMs: 60_000, now: c.now });
    throttle.fail('a');
    throttle.fail('a');
    c.advance(60_001);
    expect(throttle.waitMs('a')).toBe(0);
    expect(throttle.size).toBe(0);
    expect(throttle.fail('a')).toBe(1000);
  });

  it('remembers at most maxClients, forgetting the least recently seen first', () => {
    const c = clock();
    const throttle = new SignInThrottle({ freeTries: 0, baseDelayMs: 1000, maxClients: 100, now: c.now });
    for (let i = 0; i < 1000; i++) throttle.fail(`client-${i}`);
    expect(throttle.size).toBe(100);
    expect(throttle.waitMs('client-999')).toBe(1000);
    expect(throttle.waitMs('client-0')).toBe(0);
    // Seen again, an old client becomes the newest and survives the next evictions.
    throttle.fail('client-900');
    for (let i = 1000; i < 1099; i++) throttle.fail(`client-${i}`);
    expect(throttle.waitMs('client-900')).toBe(2000);
    expect(throttle.waitMs('client-901')).toBe(0);
  });
});
