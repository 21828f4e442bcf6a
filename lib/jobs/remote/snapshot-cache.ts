/**
 * A remote worker's index snapshots (the distributed near-duplicate search): a run's snapshot is
 * downloaded from the app once, each file checked against the sha-256 the batch names, kept on
 * disk under `<cache>/snapshot-<run>-<digest>` and open in memory one at a time. Snapshots belong
 * to one run: loading another removes the previous one from disk too.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../errors';
import { snapshotIndexPath } from '../../services/index-snapshots';
import { vectorIndexBackend } from '../../vector-index/backends';
import type { VectorIndex } from '../../vector-index/vector-index';
import type { AppClient } from './app-client';
import type { NeighborBatch } from './batch-protocol';
import { CurrentEntry } from './current-entry';

export class SnapshotCache {
  private readonly current = new CurrentEntry<VectorIndex>();
  /** Snapshots downloaded by this cache (for logs and tests). */
  downloads = 0;

  constructor(
    private readonly dir: string,
    private readonly client: AppClient,
  ) {}

  /** The index of the batch's snapshot, from memory, the disk cache or the app. */
  get(run: string, snapshot: NeighborBatch['snapshot']): Promise<VectorIndex> {
    const digest = createHash('sha256');
    for (const file of snapshot.files) digest.update(`${file.name}:${file.sha256};`);
    const key = `snapshot-${run}-${digest.digest('hex').slice(0, 16)}`;
    return this.current.get(key, () => this.load(run, snapshot, key));
  }

  private async load(run: string, snapshot: NeighborBatch['snapshot'], key: string): Promise<VectorIndex> {
    await mkdir(this.dir, { recursive: true });
    for (const entry of await readdir(this.dir)) {
      if (entry.startsWith('snapshot-') && entry !== key) await rm(join(this.dir, entry), { recursive: true, force: true });
    }
    const dir = join(this.dir, key);
    const options = { dim: snapshot.dim, space: snapshot.space };
    let opened = vectorIndexBackend().open(snapshotIndexPath(dir), options, snapshot.generation);
    if (!opened.index || opened.stale) {
      await mkdir(dir, { recursive: true });
      for (const file of snapshot.files) {
        const sha256 = await this.client.snapshotFile(run, file.name, join(dir, file.name));
        if (sha256 !== file.sha256)
          throw new AppError(
            'conflict',
            `snapshot file ${file.name} of run ${run} has sha-256 ${sha256}, the batch asks for ${file.sha256}: refused`,
          );
      }
      this.downloads++;
      opened = vectorIndexBackend().open(snapshotIndexPath(dir), options, snapshot.generation);
    }
    if (!opened.index || opened.stale)
      throw new AppError('conflict', `the index snapshot of run ${run} cannot be opened: ${opened.reason ?? 'stale'}`);
    return opened.index;
  }
}
