/**
 * npm run doctor — which TensorFlow.js backend this machine uses, why the others were skipped,
 * and the versions involved.
 */
import { availableParallelism } from 'node:os';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { FAST_WASM_KERNELS } from '../lib/engine/wasm-kernels';
import { runCli } from './cli/run';

await runCli(async () => {
  const config = parseConfig();
  const engine = await initEngine(config.backend);
  const lines = [
    `Latent Atlas doctor`,
    `node ${process.versions.node}, ${availableParallelism()} cores, tfjs ${engine.tfjsVersion}`,
    `backend in use: ${engine.backend} — ${engine.why}`,
    ...engine.candidates.map(
      (c) => `  ${c.name === engine.backend ? '*' : ' '} ${c.name.padEnd(15)} ${c.package}@${c.version ?? '-'}: ${c.reason ?? 'in use'}`,
    ),
  ];
  if (engine.backend === 'wasm') {
    lines.push('fast wasm kernels registered:');
    for (const [name, why] of Object.entries(FAST_WASM_KERNELS)) lines.push(`    ${name}: ${why}`);
  }
  lines.push(`worker threads: ${config.workers} (LATENT_ATLAS_WORKERS)`, `data directory: ${config.dataDir} (LATENT_ATLAS_DATA_DIR)`);
  console.log(lines.join('\n'));
});
