/**
 * npm run backup -- <dir> — a consistent copy of the library (LATENT_ATLAS_DATA_DIR) while the app
 * runs and ingests: the database through SQLite's online backup API, then the originals, models and
 * thumbnails it names (lib/services/backup-service.ts). `<dir>` must be new or empty. One JSON line.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { parseConfig } from '../lib/config';
import { backupLibrary } from '../lib/services/backup-service';
import { openLibrary } from '../lib/services/library';
import { runCli } from './cli/run';

const program = new Command('backup').argument('<dir>', 'a new or empty folder to write the backup into');

await runCli(async () => {
  program.parse();
  const library = openLibrary(parseConfig());
  try {
    const report = await backupLibrary(library, resolve(program.args[0]!));
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    library.close();
  }
});
