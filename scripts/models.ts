/**
 * npm run models -- list
 * npm run models -- register <dir> [--activate]
 * npm run models -- activate <id>     (embeds every stored image under it first, then switches)
 */
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { embedMissing } from '../lib/services/ingest-service';
import { openLibrary, type Library } from '../lib/services/library';
import { registerModelDir, registeredModels, switchActiveModel } from '../lib/services/model-service';
import { abortOnSigint, runCli } from './cli/run';

/** Embeds the library under `model` (old model still active meanwhile), then switches to it. */
async function switchWithProgress(library: Library, modelId: number): Promise<void> {
  const bar = new SingleBar({ format: 'embedding |{bar}| {value}/{total} | {rate} img/s | ETA {eta_formatted}' }, Presets.shades_classic);
  let started = false;
  const controller = abortOnSigint('embedding');
  let result: unknown;
  await switchActiveModel(library, modelId, async (lib, model) => {
    result = await embedMissing(lib, {
      model,
      signal: controller.signal,
      onProgress: (p) => {
        if (!process.stderr.isTTY) return;
        if (!started) {
          bar.start(p.total, 0, { rate: 0 });
          started = true;
        }
        bar.update(p.done, { rate: Math.round(p.imagesPerSec) });
      },
    });
  }).finally(() => bar.stop());
  console.log(JSON.stringify({ active: modelId, ...(result as object) }));
}

const program = new Command('models');
program.command('list').action(async () => {
  const library = openLibrary(parseConfig());
  try {
    for (const m of registeredModels(library))
      console.log(JSON.stringify({ id: m.id, name: m.name, latentSize: m.latentSize, active: m.active, dir: m.dir }));
  } finally {
    library.close();
  }
});
program
  .command('register')
  .argument('<dir>')
  .option('--activate', 'embed the library with it, then make it the active model')
  .action(async (dir: string, o: { activate?: boolean }) => {
    const config = parseConfig();
    const library = openLibrary(config);
    try {
      const record = await registerModelDir(library, dir);
      console.log(JSON.stringify({ id: record.id, name: record.name, active: record.active }));
      if (o.activate && !record.active) {
        await initEngine(config.backend);
        await switchWithProgress(library, record.id);
      }
    } finally {
      library.close();
    }
  });
program
  .command('activate')
  .argument('<id>')
  .action(async (id: string) => {
    const config = parseConfig();
    const library = openLibrary(config);
    try {
      await initEngine(config.backend);
      await switchWithProgress(library, z.coerce.number().int().min(1).parse(id));
    } finally {
      library.close();
    }
  });

await runCli(async () => {
  await program.parseAsync();
});
