import { initEngine } from '../../lib/engine/backend';
import { tf } from '../../lib/engine/tf';

/** Starts the wasm engine (fast kernels registered); the cpu backend is always there too. */
export async function startWasm(): Promise<void> {
  const info = await initEngine('wasm');
  if (info.backend !== 'wasm') throw new Error(`expected wasm, got ${info.backend}`);
}

/** Runs `fn` with `backend` active, then restores wasm. */
export async function onBackend<T>(backend: 'wasm' | 'cpu', fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  try {
    return fn();
  } finally {
    await tf.setBackend('wasm');
  }
}

/** max |a − b| / max(1, max |b|): a scale-aware error for float32 sums of many terms. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / scale;
}
