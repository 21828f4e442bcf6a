/**
 * npm run models -- list
 * npm run models -- register <dir> [--activate]
 * npm run models -- activate <id>     (then embeds every stored image the model has not seen)
 */
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { embedMissing } from '../lib/services/ingest-service';
import { openLibrary, type Library } from '../lib/services/library';
import { registerModelDir } from '../lib/services/model-service';
import { activateModel, listModels } from '../lib/store/models-repo';
import { abortOnSigint, runCli } from './cli/run';

async function embedWithProgress(library: Library): Promise<void> {
  const bar = new SingleBar({ format: 'embedding |{bar}| {value}/{total} | {rate} img/s | ETA {eta_formatted}' }, Presets.shades_classic);
  let started = false;
  const controller = abortOnSigint('embedding');
  const result = await embedMissing(library, {
    signal: controller.signal,
    onProgress: (p) => {
      if (!process.stderr.isTTY) return;
      if (!started) { bar.start(p.total, 0, { rate: 0 }); started = true; }
      bar.update(p.done, { rate: Math.round(p.imagesPerSec) });
    },
  }).finally(() => bar.stop());
  console.log(JSON.stringify(result));
}

const program = new Command('models');
program.command('list').action(async () => {
  const library = openLibrary(parseConfig());
  try {
    for (const m of listModels(library.db)) console.log(JSON.stringify({ id: m.id, name: m.name, latentSize: m.latentSize, active: m.active, dir: m.dir }));
  } finally {
    library.close();
  }
});
program.command('register').argument('<dir>').option('--activate', 'make it the active model and embed the library with it').action(async (dir: string, o: { activate?: boolean }) => {
  const config = parseConfig();
  const library = openLibrary(config);
  try {
    const record = await registerModelDir(library, dir, { activate: o.activate ?? false });
    console.log(JSON.stringify({ id: record.id, name: record.name, active: record.active }));
    if (record.active) {
      await initEngine(config.backend);
      await embedWithProgress(library);
    }
  } finally {
    library.close();
  }
});
program.command('activate').argument('<id>').action(async (id: string) => {
  const config = parseConfig();
  const library = openLibrary(config);
  try {
    activateModel(library.db, z.coerce.number().int().min(1).parse(id));
    await initEngine(config.backend);
    await embedWithProgress(library);
  } finally {
    library.close();
  }
});

await runCli(async () => {
  await program.parseAsync();
});
