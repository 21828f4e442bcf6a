/**
 * Gradient kernels for the wasm backend written as single JavaScript passes over the wasm heap,
 * where wasm's own kernels are generic loops several times slower. Registered by
 * `wasm-kernels.ts`, which imports from here (never the other way: no cycle); checked against the
 * cpu backend in `test/unit/engine`.
 *
 * Invariant: views of the heap (`typedArrayFromHeap`) are taken only after the kernel's last
 * allocation. Allocating (`makeOutput`) may grow the wasm memory, which detaches every earlier
 * view: reads from one then return `undefined` and the gradient silently comes out zero. This
 * showed only with the two-view objective, whose triple-size batches grew the heap mid-training.
 */
import { tf } from './tf';

/** The subset of the wasm backend object these kernels use. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: WasmBackend; attrs: tf.NamedAttrMap };

/**
 * MaxPool gradient as one pass in JavaScript over the wasm heap: each output routes its
 * gradient to the first maximum of its window (the cpu backend's rule). wasm's own kernel is a
 * generic loop ~10× slower.
 */
export function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const dy = inputs.dy as tf.TensorInfo;
  const input = inputs.input as tf.TensorInfo;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = backend.makeOutput(input.shape, 'float32');
  const x = backend.typedArrayFromHeap(input);
  const g = backend.typedArrayFromHeap(dy);
  const dx = backend.typedArrayFromHeap(out);
  dx.fill(0);
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * strideWidth - left;
        const dyBase = ((n * outHeight + oh) * outWidth + ow) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let where = -1;
          for (let fh = 0; fh < filterHeight; fh++) {
            const ih = h0 + fh;
            if (ih < 0 || ih >= inHeight) continue;
            for (let fw = 0; fw < filterWidth; fw++) {
              const iw = w0 + fw;
              if (iw < 0 || iw >= inWidth) continue;
              const at = ((n * inHeight + ih) * inWidth + iw) * c + ch;
              const v = x[at]!;
              if (v > best) {
                best = v;
                where = at;
              }
            }
          }
          if (where >= 0) dx[where]! += g[dyBase + ch]!;
        }
      }
    }
  }
  return out;
}

/** Nearest-neighbour resize gradient: scatter-add through the forward pass's own index map. */
export function resizeNearestNeighborGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const images = inputs.images as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const { alignCorners, halfPixelCenters } = attrs as unknown as tf.ResizeNearestNeighborGradAttrs & { halfPixelCenters?: boolean };
  const [batch, inH, inW, c] = images.shape as [number, number, number, number];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  const source = (out: number, size: number, index: number) => {
    const scale = (alignCorners && out > 1 ? size - 1 : size) / (alignCorners && out > 1 ? out - 1 : out);
    const frac = halfPixelCenters ? scale * (index + 0.5) : scale * index;
    const nearest = Math.min(size - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    return halfPixelCenters ? Math.max(0, nearest) : nearest;
  };
  const rows = Int32Array.from({ length: outH }, (_, r) => source(outH, inH, r));
  const cols = Int32Array.from({ length: outW }, (_, q) => source(outW, inW, q));
  const out = backend.makeOutput(images.shape, 'float32');
  const g = backend.typedArrayFromHeap(dy);
  const dx = backend.typedArrayFromHeap(out);
  dx.fill(0);
  for (let n = 0; n < batch; n++) {
    for (let r = 0; r < outH; r++) {
      const rowBase = (n * inH + rows[r]!) * inW;
      for (let q = 0; q < outW; q++) {
        const dst = (rowBase + cols[q]!) * c;
        const src = ((n * outH + r) * outW + q) * c;
        for (let ch = 0; ch < c; ch++) dx[dst + ch]! += g[src + ch]!;
      }
    }
  }
  return out;
}
