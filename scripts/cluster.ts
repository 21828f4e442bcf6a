/**
 * npm run cluster -- --k <n | auto> [--range 2,20] [--seed 0]
 * npm run cluster -- --run <id> --name <cluster>=<name>
 * npm run cluster -- --run <id> --export <cluster> --to <folder | file.csv | file.json>
 * Groups the library with k-means on the active model's vectors and prints the clusters.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { writeFileDurable } from '../lib/durable-file';
import { initEngine } from '../lib/engine/backend';
import { AppError } from '../lib/errors';
import {
  clusterManifest,
  clusterRunOrThrow,
  exportClusterFolder,
  formatManifest,
  nameCluster,
  runClustering,
} from '../lib/services/cluster-service';
import { openLibrary } from '../lib/services/library';
import { runCli } from './cli/run';

const program = new Command('cluster')
  .option('--k <k>', "number of clusters, or 'auto' (silhouette over --range)")
  .option('--range <from,to>', 'candidate k for --k auto', '2,20')
  .option('--seed <n>', 'seed', '0')
  .option('--umap', 'cluster a UMAP projection of the vectors (N2D): slower, often better separated')
  .option('--run <id>', 'an existing run (to name or export its clusters)')
  .option('--name <cluster=name>', 'rename a cluster of --run')
  .option('--export <cluster>', 'export a cluster of --run')
  .option('--to <path>', 'export destination: a folder, or a .csv/.json manifest');

const int = z.coerce.number().int();

await runCli(async () => {
  program.parse();
  const o = program.opts<{
    k?: string;
    range: string;
    seed: string;
    umap?: boolean;
    run?: string;
    name?: string;
    export?: string;
    to?: string;
  }>();
  const config = parseConfig();
  await initEngine(config.backend);
  const library = openLibrary(config);
  try {
    if (o.run) {
      const runId = int.parse(o.run);
      if (o.name) {
        const [cluster, ...rest] = o.name.split('=');
        nameCluster(library, runId, int.parse(cluster), rest.join('='));
      }
      if (o.export !== undefined) {
        if (!o.to) throw new AppError('invalid_input', '--export needs --to <folder | file.csv | file.json>');
        const cluster = int.parse(o.export);
        if (/\.(csv|json)$/i.test(o.to)) {
          await writeFileDurable(
            o.to,
            formatManifest(clusterManifest(library, runId, cluster), o.to.toLowerCase().endsWith('.json') ? 'json' : 'csv'),
          );
        } else {
          process.stderr.write(`copied ${await exportClusterFolder(library, runId, cluster, o.to)} originals to ${o.to}\n`);
        }
      }
      const run = clusterRunOrThrow(library, runId);
      console.log(JSON.stringify(run.result.clusters.map(({ centroid: _, ...c }) => c)));
      return;
    }
    if (!o.k) throw new AppError('invalid_input', 'give --k <n | auto>, or --run <id> to work on an earlier run');
    const range = o.range.split(',').map((v) => int.parse(v)) as [number, number];
    const run = await runClustering(library, {
      k: o.k === 'auto' ? 'auto' : int.parse(o.k),
      range,
      seed: int.parse(o.seed),
      umap: o.umap ?? false,
    });
    console.log(
      JSON.stringify({
        run: run.id,
        k: run.params.k,
        inertia: run.result.inertia,
        elbow: run.result.elbow,
        clusters: run.result.clusters.map((c) => ({
          cluster: c.cluster,
          size: c.size,
          spread: Number(c.spread.toFixed(4)),
          representatives: c.representatives,
        })),
      }),
    );
  } finally {
    library.close();
  }
});
