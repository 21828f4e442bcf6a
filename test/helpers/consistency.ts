/**
 * The consistency checks of a library at rest (the app down), shared by the crash loop
 * (test/crash/crash-loop.ts) and the backup tests: SQLite's integrity_check passes; every live
 * image has an original whose SHA-256 is its content hash; no vector belongs to a deleted image;
 * the active model's index, as the app opens it, holds exactly the stored vectors. Live images
 * without a vector (caught between storing and embedding; the worker's catch-up embeds them) are
 * counted, not a violation.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { originalPath, type Library } from '../../lib/services/library';
import { forgetOpenIndexes, openModelIndex } from '../../lib/services/model-service';
import { iterateEmbeddings } from '../../lib/store/embeddings-repo';
import { liveImageHashes } from '../../lib/store/images-repo';
import { activeModel } from '../../lib/store/models-repo';

export interface LibraryCheck {
  violations: string[];
  /** How the index opened: 'current', 'reconciled' or 'rebuilt (why)'; 'none' without an active model. */
  index: string;
  /** Live images without a vector under the active model. */
  unembedded: number;
  /** Live images: id → content hash. */
  stored: Map<number, string>;
}

const some = (ids: number[]) => `${ids.length} (e.g. ${ids.slice(0, 5).join(', ')})`;

export function checkLibrary(library: Library): LibraryCheck {
  const violations: string[] = [];
  const integrity = library.db.pragma('integrity_check', { simple: true });
  if (integrity !== 'ok') violations.push(`integrity_check: ${integrity}`);
  const stored = new Map(liveImageHashes(library.db).map((r) => [r.id, r.contentHash]));
  const badOriginal: number[] = [];
  for (const [id, hash] of stored) {
    const path = originalPath(library.config, hash);
    if (!existsSync(path) || createHash('sha256').update(readFileSync(path)).digest('hex') !== hash) badOriginal.push(id);
  }
  if (badOriginal.length) violations.push(`live images whose original is missing or does not match its hash: ${some(badOriginal)}`);
  const model = activeModel(library.db);
  if (!model) return { violations: [...violations, 'no active model'], index: 'none', unembedded: 0, stored };
  const vectors = new Set([...iterateEmbeddings(library.db, model.id, model.latentSize)].map((e) => e.imageId));
  const ofDeleted = [...vectors].filter((id) => !stored.has(id));
  if (ofDeleted.length) violations.push(`vectors of deleted images: ${some(ofDeleted)}`);
  const unembedded = [...stored.keys()].filter((id) => !vectors.has(id)).length;
  forgetOpenIndexes();
  const opened = openModelIndex(library, model);
  const indexed = opened.index.ids();
  const extra = [...indexed].filter((id) => !vectors.has(id));
  const missing = [...vectors].filter((id) => !indexed.has(id));
  if (extra.length || missing.length) violations.push(`index: ${missing.length} stored vectors missing, ${extra.length} extra`);
  forgetOpenIndexes();
  const index = opened.rebuilt ? `rebuilt (${opened.reason})` : opened.reconciled ? 'reconciled' : 'current';
  return { violations, index, unembedded, stored };
}
