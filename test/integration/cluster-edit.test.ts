/**
 * Corrections by hand: moves, merges and splits change a run consistently, and moved images stay
 * together, under their cluster's name, when clustering runs again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeClusters, moveToCluster, splitCluster } from '../../lib/services/cluster-edit-service';
import { clusterManifest, nameCluster, runClustering } from '../../lib/services/cluster-service';
import type { Library } from '../../lib/services/library';
import { runAssignments } from '../../lib/store/clusters-repo';
import { startWasm } from '../helpers/engine';
import { expectAppError } from '../helpers/errors';
import { ingestedLibrary } from '../helpers/library';

let library: Library;
let remove: () => void;

beforeAll(async () => {
  await startWasm();
  ({ library, remove } = await ingestedLibrary(120));
});
afterAll(() => remove());

const total = (run: { result: { clusters: { size: number }[] } }) => run.result.clusters.reduce((s, c) => s + c.size, 0);

describe('correcting clusters by hand', () => {
  it('moves images, and the move survives a new clustering run under the cluster name', async () => {
    const run = await runClustering(library, { k: 4, seed: 1 });
    const from = run.result.clusters.find((c) => c.size >= 3)!;
    const to = run.result.clusters.find((c) => c.cluster !== from.cluster)!;
    const moved = clusterManifest(library, run.id, from.cluster)
      .slice(0, 3)
      .map((r) => r.id);
    nameCluster(library, run.id, to.cluster, 'keepers');
    const edited = moveToCluster(library, run.id, moved, to.cluster);
    expect(edited.result.edited).toBe(true);
    expect(total(edited)).toBe(120);
    const assigned = runAssignments(library.db, run.id);
    for (const id of moved) expect(assigned.get(id)).toBe(to.cluster);
    expect(edited.result.clusters.find((c) => c.cluster === to.cluster)!.size).toBe(to.size + 3);

    // Again, with another seed: the three land together, in the cluster named 'keepers'.
    const again = await runClustering(library, { k: 4, seed: 7 });
    const keepers = again.result.clusters.filter((c) => c.name === 'keepers');
    expect(keepers).toHaveLength(1);
    const next = runAssignments(library.db, again.id);
    for (const id of moved) expect(next.get(id)).toBe(keepers[0]!.cluster);
    expect(total(again)).toBe(120);
  });

  it('merges two clusters into one and splits one into parts', async () => {
    const run = await runClustering(library, { k: 4, seed: 2 });
    const [a, b] = run.result.clusters;
    const merged = mergeClusters(library, run.id, a!.cluster, b!.cluster);
    expect(merged.result.clusters).toHaveLength(3);
    expect(merged.result.clusters.find((c) => c.cluster === b!.cluster)!.size).toBe(a!.size + b!.size);
    expect(total(merged)).toBe(120);

    const big = merged.result.clusters.reduce((x, y) => (y.size > x.size ? y : x));
    const split = splitCluster(library, run.id, big.cluster, 3);
    expect(split.result.clusters).toHaveLength(5);
    expect(total(split)).toBe(120);
    const assigned = runAssignments(library.db, run.id);
    for (const c of split.result.clusters) expect([...assigned.values()].filter((x) => x === c.cluster)).toHaveLength(c.size);
  });

  it('refuses edits that make no sense, with clear errors', async () => {
    const run = await runClustering(library, { k: 3, seed: 3 });
    const c = run.result.clusters[0]!.cluster;
    await expectAppError(() => mergeClusters(library, run.id, c, c), 'invalid_input', /itself/);
    await expectAppError(() => moveToCluster(library, run.id, [987654], c), 'not_found', /987654/);
    await expectAppError(() => moveToCluster(library, run.id, [1], 99), 'not_found', /cluster 99/);
    await expectAppError(() => splitCluster(library, run.id, c, 1), 'invalid_input', /2 to 20/);
    await expectAppError(() => splitCluster(library, 424242, c, 2), 'not_found', /run 424242/);
  });
});
