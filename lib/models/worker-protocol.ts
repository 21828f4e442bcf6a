/**
 * Messages between the main thread and model worker threads (`workers/model-worker.ts`), and the
 * layout of the shared memory used for synchronous data-parallel training.
 */
import type { BackendName } from '../engine/backend';
import type { ModelSpec } from './spec';
import type { ClusterStart, ClusterState } from './cluster-finetune';
import type { TrainOptions } from './train';

export type Weights = Record<string, Float32Array>;

/** Int32 slots of the training control block. */
export const CONTROL = Object.freeze({ COUNT: 0, GENERATION: 1, ABORT: 2, STOP0: 3, STOP1: 4, LENGTH: 5 });

export interface ImageMeta {
  count: number;
  height: number;
  width: number;
  channels: number;
  float: boolean;
}

export type ToWorker =
  | { type: 'init'; backend: BackendName; spec: ModelSpec; weights: Weights }
  | { type: 'encode'; pixels: Uint8Array | Float32Array; count: number; batchSize: number; embed: boolean }
  | {
      type: 'train-setup';
      pixels: SharedArrayBuffer;
      meta: ImageMeta;
      train: Int32Array;
      options: TrainOptions;
      control: SharedArrayBuffer;
      grads: SharedArrayBuffer;
      losses: SharedArrayBuffer;
      worker: number;
      workers: number;
      /** The clustering fine-tune instead of reconstruction: centres and partition to start from, shared Q [count × k]. */
      cluster?: { centers: Float32Array; start: ClusterStart; q: SharedArrayBuffer };
    }
  | { type: 'train-epoch'; epoch: number }
  | { type: 'eval'; indices: Int32Array }
  | { type: 'get-weights' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'encoded'; latents: Float32Array }
  | { type: 'batch'; epoch: number; batch: number; batches: number; loss: number; images: number }
  | { type: 'epoch-done'; sumLoss: number; count: number; cancelled: boolean; cluster?: ClusterState & { steps: number } }
  | { type: 'eval-done'; sum: number; count: number }
  | { type: 'weights'; weights: Weights }
  | { type: 'error'; message: string; code?: string };

/** Barrier for `parties` threads on the control block (generation counting, Atomics.wait). */
export function barrier(control: Int32Array, parties: number): void {
  const generation = Atomics.load(control, CONTROL.GENERATION);
  if (Atomics.add(control, CONTROL.COUNT, 1) === parties - 1) {
    Atomics.store(control, CONTROL.COUNT, 0);
    Atomics.add(control, CONTROL.GENERATION, 1);
    Atomics.notify(control, CONTROL.GENERATION);
  } else {
    while (Atomics.load(control, CONTROL.GENERATION) === generation) Atomics.wait(control, CONTROL.GENERATION, generation);
  }
}
