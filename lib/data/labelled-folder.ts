/**
 * A labelled folder (a `labels.csv` with `file` and `label` columns beside the images, as in
 * ../shared/data/chest-xray) as an ImageSet with integer labels, for evaluation. Rows without a
 * label are left out; `include` keeps a named subset (the flowers of ../shared/data/photos).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { AppError } from '../errors';
import { prepareImage, type PreprocessTarget } from '../images/image-decoder';
import type { ImageSet } from './image-set';

export async function loadLabelledFolder(
  dir: string,
  target: PreprocessTarget,
  include: (file: string) => boolean = () => true,
): Promise<{ set: ImageSet; classes: string[] }> {
  let text: string;
  try {
    text = await readFile(join(dir, 'labels.csv'), 'utf8');
  } catch (error) {
    throw new AppError('not_found', `${dir} has no labels.csv`, { cause: error });
  }
  const rows = (parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[]).filter(
    (r) => r.file && r.label && include(r.file),
  );
  if (rows.length === 0) throw new AppError('invalid_input', `${dir}/labels.csv has no rows with 'file' and 'label'`);
  const classes = [...new Set(rows.map((r) => r.label!))].sort();
  const size = target.height * target.width * target.channels;
  const pixels = new Uint8Array(rows.length * size);
  const labels = new Int32Array(rows.length);
  for (const [i, row] of rows.entries()) {
    const image = await prepareImage(await readFile(join(dir, row.file!)), { target });
    pixels.set(image.pixels, i * size);
    labels[i] = classes.indexOf(row.label!);
  }
  return { set: { pixels, count: rows.length, height: target.height, width: target.width, channels: target.channels, labels }, classes };
}
