/**
 * A large library made fast for the map's tests and bench:scale's drawing measurement: rows,
 * vectors and a stored 2-D map only — no originals, thumbnails or trained model (the map and its
 * page never load them). Points form `groups` Gaussian blobs; image i is in group i mod `groups`
 * and labelled `group <g>`. A few seconds for 200,000 images.
 */
import { createHash } from 'node:crypto';
import { parseConfig } from '../../lib/config';
import { seededRandom } from '../../lib/random';
import { openLibrary } from '../../lib/services/library';
import { immediate } from '../../lib/store/database';
import { putEmbedding } from '../../lib/store/embeddings-repo';
import { insertImage } from '../../lib/store/images-repo';
import { replaceMap, type MapPoint } from '../../lib/store/maps-repo';
import { activateModel, registerModel } from '../../lib/store/models-repo';
import { MODEL_INPUT_VERSION } from '../../lib/images/image-decoder';

const DIM = 8;

/** Fills the (new) library in `dataDir` with `count` images and their PCA map. */
export function fillMapLibrary(dataDir: string, count: number, groups = 12): void {
  const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir }));
  try {
    const model = registerModel(library.db, {
      name: 'map-test',
      dir: '/nowhere',
      spec: {},
      latentSize: DIM,
      inputVersion: MODEL_INPUT_VERSION,
    });
    activateModel(library.db, model.id);
    const random = seededRandom(11);
    const gaussian = () => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
    const centres = Array.from({ length: groups }, () => [random() * 20 - 10, random() * 20 - 10] as const);
    const points: MapPoint[] = [];
    const vector = new Float32Array(DIM);
    for (let start = 0; start < count; start += 20_000) {
      immediate(library.db, () => {
        for (let i = start; i < Math.min(count, start + 20_000); i++) {
          const g = i % groups;
          const id = insertImage(library.db, {
            contentHash: createHash('sha256').update(`map-library:${i}`).digest('hex'),
            originalName: `point-${i}.png`,
            format: 'png',
            byteSize: 1,
            width: 1,
            height: 1,
            modality: 'photo',
            labels: [`group ${g}`],
          });
          const [cx, cy] = centres[g]!;
          const x = cx + gaussian();
          const y = cy + gaussian();
          vector.fill(0);
          vector[0] = x;
          vector[1] = y;
          putEmbedding(library.db, id, model.id, vector);
          points.push({ imageId: id, x, y });
        }
      });
    }
    replaceMap(library.db, model.id, 'pca', points);
  } finally {
    library.close();
  }
}
