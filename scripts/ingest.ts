/**
 * npm run ingest -- <folder> [--modality photo|xray] [--label-from-folder]
 * Decodes, embeds (active model), stores and indexes every image under the folder, with a
 * progress bar. Running it again adds nothing; refused files are listed at the end.
 */
import { Command, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { ingestFolder } from '../lib/services/ingest-service';
import { openLibrary } from '../lib/services/library';
import { abortOnSigint, runCli } from './cli/run';

const program = new Command('ingest')
  .description('Add every image under a folder to the library (idempotent, resumable).')
  .argument('<folder>', 'folder of images (searched recursively; links are not followed)')
  .addOption(new Option('--modality <kind>', 'modality of non-DICOM images').choices(['photo', 'xray']).default('photo'))
  .option('--label-from-folder', 'label each image with the name of its parent folder')
  .option('--keep-patient-tags', 'DICOM: also store patient-identifying tags (off by default)');

await runCli(async () => {
  program.parse();
  const [folder] = program.args as [string];
  const o = program.opts<{ modality: 'photo' | 'xray'; labelFromFolder?: boolean; keepPatientTags?: boolean }>();
  const config = parseConfig();
  const engine = await initEngine(config.backend);
  process.stderr.write(`backend: ${engine.backend}\n`);
  const library = openLibrary(config);
  const controller = abortOnSigint('ingest');
  const tty = process.stderr.isTTY;
  const bar = new SingleBar(
    { format: 'ingest |{bar}| {value}/{total} | +{added} new, {duplicates} known, {skipped} refused | {rate} img/s | ETA {eta_formatted}' },
    Presets.shades_classic,
  );
  let started = false;
  let lastLog = 0;
  try {
    const report = await ingestFolder(library, folder, {
      modality: o.modality,
      labelFromFolder: o.labelFromFolder ?? false,
      includePatient: o.keepPatientTags ?? false,
      signal: controller.signal,
      onProgress: (p) => {
        const payload = { added: p.added, duplicates: p.duplicates, skipped: p.skipped, rate: Math.round(p.imagesPerSec) };
        if (!tty) {
          if (p.done === p.total || performance.now() - lastLog > 5000) {
            lastLog = performance.now();
            process.stderr.write(
              `ingest ${p.done}/${p.total} +${p.added} new, ${p.duplicates} known, ${p.skipped} refused, ${payload.rate} img/s\n`,
            );
          }
          return;
        }
        if (!started) {
          bar.start(p.total, 0, payload);
          started = true;
        }
        bar.update(p.done, payload);
      },
    }).finally(() => bar.stop());
    for (const s of report.skipped) process.stderr.write(`refused ${s.name}: ${s.reason}\n`);
    if (report.index?.rebuilt || report.index?.reconciled)
      process.stderr.write(`index ${report.index.rebuilt ? 'rebuilt' : 'reconciled'} from the store (${report.index.reason})\n`);
    if (!report.embedded)
      process.stderr.write('no active model yet: the images are stored and are embedded when a model is activated (npm run train)\n');
    console.log(
      JSON.stringify({
        total: report.total,
        added: report.added,
        duplicates: report.duplicates,
        refused: report.skipped.length,
        seconds: Number(report.seconds.toFixed(2)),
        imagesPerSec: Math.round(report.total / Math.max(report.seconds, 1e-9)),
      }),
    );
  } finally {
    library.close();
  }
});
