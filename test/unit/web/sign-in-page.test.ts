import { describe, expect, it } from 'vitest';
import { safeNext, signInPage } from '../../../app/_server/sign-in-page';

describe('safeNext', () => {
  it('keeps a same-origin path and turns anything else into /', () => {
    expect(safeNext('/clusters/3/1?x=1')).toBe('/clusters/3/1?x=1');
    for (const bad of [
      '//evil.example/',
      '/\\evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      '',
      null,
      undefined,
      `/${'a'.repeat(2000)}`,
    ])
      expect(safeNext(bad), String(bad)).toBe('/');
  });
});

describe('signInPage', () => {
  it('posts a password field to /api/session and escapes what it echoes', () => {
    const html = signInPage({ next: '/library?q="><script>x</script>', message: '<b>wrong</b>' });
    expect(html).toContain('<form method="post" action="/api/session"');
    expect(html).toContain('type="password"');
    expect(html).toContain('<label for="token">');
    expect(html).toContain('value="/library?q=&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    expect(html).toContain('&lt;b&gt;wrong&lt;/b&gt;');
    expect(html).not.toContain('<script>');
  });
});
