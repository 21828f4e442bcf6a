/**
 * npm run restore -- <dir> — puts the backup in `<dir>` (made by npm run backup) in place as the
 * library of LATENT_ATLAS_DATA_DIR, which must not hold a database (stop the app and move a damaged
 * library aside first; nothing is overwritten). Originals are checked against their hashes and the
 * database with integrity_check; the search index is rebuilt at the first search. One JSON line.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { parseConfig } from '../lib/config';
import { restoreLibrary } from '../lib/services/backup-service';
import { runCli } from './cli/run';

const program = new Command('restore').argument('<dir>', 'a folder written by npm run backup');

await runCli(async () => {
  program.parse();
  const report = await restoreLibrary(parseConfig(), resolve(program.args[0]!));
  process.stdout.write(`${JSON.stringify(report)}\n`);
});
