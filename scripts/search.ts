/**
 * npm run search -- <image file | stored image id> [--k 10] [--exact]
 * The most similar stored images, with their distances, as JSON lines.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { parseOrThrow } from '../lib/validation';
import { initEngine } from '../lib/engine/backend';
import { AppError } from '../lib/errors';
import { openLibrary } from '../lib/services/library';
import { searchSimilar } from '../lib/services/search-service';
import { runCli } from './cli/run';

const program = new Command('search')
  .description('Find the stored images most similar to an image file or a stored image id.')
  .argument('<query>', 'an image file, or the id of a stored image')
  .option('--k <n>', 'number of results', '10')
  .option('--ef <n>', 'HNSW candidate list (recall vs latency)')
  .option('--exact', 'brute-force search over all stored vectors');

await runCli(async () => {
  program.parse();
  const [query] = program.args as [string];
  const o = program.opts<{ k: string; ef?: string; exact?: boolean }>();
  const flags = parseOrThrow(
    z.object({ k: z.coerce.number().int().min(1).max(1000), ef: z.coerce.number().int().min(1).max(100000).optional() }),
    { k: o.k, ef: o.ef },
    'option',
    { describe: (issue, where) => `--${where} ${issue.message}` },
  );
  const config = parseConfig();
  await initEngine(config.backend);
  const library = openLibrary(config);
  try {
    const byId = /^\d+$/.test(query);
    const bytes = byId
      ? null
      : await readFile(query).catch((error: NodeJS.ErrnoException) => {
          throw new AppError('not_found', `cannot read ${query}: ${error.code ?? 'error'}`, { cause: error });
        });
    const result = await searchSimilar(library, bytes ? { bytes } : { imageId: Number(query) }, {
      k: flags.k,
      ...(flags.ef ? { ef: flags.ef } : {}),
      exact: o.exact ?? false,
    });
    for (const hit of result.hits) {
      console.log(
        JSON.stringify({
          id: hit.image.id,
          distance: Number(hit.distance.toFixed(6)),
          name: hit.image.originalName,
          labels: hit.image.labels,
          modality: hit.image.modality,
        }),
      );
    }
  } finally {
    library.close();
  }
});
