/**
 * npm run inspect -- duplicates [--threshold <d>]   near-duplicate groups (through the index)
 * npm run inspect -- anomalies [--top 20]           worst-reconstructed images
 * npm run inspect -- map [--method pca|umap]        compute and store the 2-D map of the latent space
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { findAnomalies } from '../lib/services/anomaly-service';
import { findNearDuplicates } from '../lib/services/duplicates-service';
import { openLibrary, type Library } from '../lib/services/library';
import { computeMap, MAP_METHODS } from '../lib/services/map-service';
import { abortOnSigint, runCli } from './cli/run';

async function withLibrary(run: (library: Library) => Promise<void>): Promise<void> {
  const config = parseConfig();
  await initEngine(config.backend);
  const library = openLibrary(config);
  try {
    await run(library);
  } finally {
    library.close();
  }
}

const program = new Command('inspect');
program
  .command('duplicates')
  .option('--threshold <d>', 'largest squared latent distance (default: 5 % of the median nearest-neighbour distance)')
  .action((o: { threshold?: string }) =>
    withLibrary(async (library) => {
      const result = await findNearDuplicates(library, o.threshold ? { threshold: z.coerce.number().parse(o.threshold) } : {});
      console.log(JSON.stringify(result));
    }),
  );
program
  .command('anomalies')
  .option('--top <n>', 'how many', '20')
  .action((o: { top: string }) =>
    withLibrary(async (library) => {
      for (const a of await findAnomalies(library, z.coerce.number().int().parse(o.top))) {
        console.log(
          JSON.stringify({ id: a.image.id, error: Number(a.error.toFixed(6)), name: a.image.originalName, modality: a.image.modality }),
        );
      }
    }),
  );
program
  .command('map')
  .addOption(new Option('--method <m>', 'projection').choices(MAP_METHODS).default('pca'))
  .action((o: { method: 'pca' | 'umap' }) =>
    withLibrary(async (library) => {
      const controller = abortOnSigint('the map');
      const points = await computeMap(library, o.method, {
        signal: controller.signal,
        onProgress: (done, total) => process.stderr.write(`\rUMAP epoch ${done}/${total}`),
      });
      process.stderr.write('\n');
      console.log(JSON.stringify({ method: o.method, points: points.length }));
    }),
  );

await runCli(async () => {
  await program.parseAsync();
});
