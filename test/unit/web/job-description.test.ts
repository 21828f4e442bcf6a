import { describe, expect, it } from 'vitest';
import { describeJob } from '@/app/_components/job-description';
import type { Job } from '@/app/_components/api';

const job = (params: Record<string, unknown>, progress: Job['progress'] = {}): Job =>
  ({ id: 1, kind: 'embed', params, state: 'running', progress }) as Job;

describe('job descriptions', () => {
  it('say why the worker re-embeds every image, with the count once it is known', () => {
    expect(describeJob(job({ all: true, reason: 'input-version' }))).toBe(
      'Re-embedding every image: image preparation changed in this version',
    );
    expect(describeJob(job({ all: true, reason: 'input-version' }, { phase: 're-embed', done: 10, total: 1234 }))).toBe(
      `Re-embedding ${(1234).toLocaleString()} images: image preparation changed in this version`, // 1,234 in English
    );
    expect(describeJob(job({ all: true }, { total: 1 }))).toBe('Re-embedding 1 image');
    expect(describeJob(job({}))).toBe('Embedding images');
  });
});
