/**
 * Fast training kernels for the TensorFlow.js wasm backend.
 *
 * As shipped, the wasm backend has no `Conv2DBackpropFilter` (so a conv net cannot train), and its
 * `Conv2DBackpropInput` and `BatchMatMul` (with a transposed operand) are generic loops that are
 * many times slower than its XNNPACK convolution and matmul. This module registers replacements
 * that are built only from fast wasm kernels:
 *
 * - filter gradient: ONE dilated XNNPACK convolution of the (channel-transposed) input with the
 *   (batch-transposed) output gradient;
 * - input gradient and transposed convolution: ONE stride-1 convolution of the output gradient with
 *   a "phase" filter holding all s×s sub-filters as s²·C output channels, then one rank-4
 *   transpose interleaves the phases (no zero insertion, no Pad/Slice on tensors of rank > 4);
 * - BatchMatMul: routed to XNNPACK's fully connected operator, with explicit transposes;
 * - MaxPoolGrad and ResizeNearestNeighborGrad: single JavaScript passes over the wasm heap.
 *
 * Each replacement is checked numerically against the cpu backend in `test/unit/engine`.
 */
import { tf } from './tf';
import { maxPoolGrad, resizeNearestNeighborGrad, type KernelArgs, type WasmBackend } from './wasm-heap-kernels';

type KernelFn = (args: KernelArgs) => tf.TensorInfo;

const BACKEND = 'wasm';

/** Kernels this module replaces or adds, with why. Frozen: the list is the contract. */
export const FAST_WASM_KERNELS = Object.freeze({
  Conv2DBackpropFilter: 'missing on wasm: computed as one dilated XNNPACK convolution',
  Conv2DBackpropInput: 'generic loop on wasm: computed as one phase convolution + a rank-4 transpose',
  BatchMatMul: 'generic loop on wasm for transposed operands: routed to XNNPACK fully connected',
  MaxPoolGrad: 'generic loop on wasm: one JavaScript pass over the heap, first maximum of each window',
  ResizeNearestNeighborGrad: 'generic loop on wasm: one JavaScript scatter-add through the forward index map',
} as const);

let registered = false;
const original: Record<string, KernelFn> = {};

function originalKernel(name: string): KernelFn {
  const fn = original[name];
  if (!fn) throw new Error(`wasm kernel ${name} is not registered`);
  return fn;
}

function call(name: string, backend: WasmBackend, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
  return originalKernel(name)({ inputs, backend, attrs });
}

function release(backend: WasmBackend, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

function transpose(backend: WasmBackend, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  return call('Transpose', backend, { x }, { perm });
}

function reshape(backend: WasmBackend, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return call('Reshape', backend, { x }, { shape });
}

/** A stride-1 XNNPACK convolution with explicit padding [top, bottom, left, right]. */
function conv2d(backend: WasmBackend, x: tf.TensorInfo, filter: tf.TensorInfo, pad: number[], dilations: number[]): tf.TensorInfo {
  const [top, bottom, left, right] = pad;
  return call(
    'Conv2D',
    backend,
    { x, filter },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top!, bottom!],
        [left!, right!],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations,
      dimRoundingMode: undefined as unknown as string,
    },
  );
}

function dim(shape: number[], i: number): number {
  const d = shape[i];
  if (d === undefined) throw new Error(`shape ${JSON.stringify(shape)} has no dimension ${i}`);
  return d;
}

function crop(backend: WasmBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const needed = size.some((s, i) => s !== dim(x.shape, i)) || begin.some((b) => b !== 0);
  if (!needed) return x;
  const out = call('Slice', backend, { x }, { begin, size });
  release(backend, x);
  return out;
}

/** dW[a,b,ci,co] = Σ x[n, s·i + d·a − pt, s·j + d·b − pl, ci] · dy[n,i,j,co], as one convolution. */
function conv2dBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (info.dataFormat !== 'channelsLast') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Output rows of the stride-1 convolution dilated by the stride: H + pt + pb − s·(Ho − 1).
  const bottom = Math.max(0, filterHeight + strideHeight * (outHeight - 1) - inHeight - top);
  const right = Math.max(0, filterWidth + strideWidth * (outWidth - 1) - inWidth - left);

  const ci = dim(x.shape, 3);
  const co = dim(dy.shape, 3);
  const flippedTop = filterHeight - 1 - top;
  const flippedBottom = inHeight + top - outHeight;
  const flippedLeft = filterWidth - 1 - left;
  const flippedRight = inWidth + left - outWidth;
  if (
    strideHeight === 1 &&
    strideWidth === 1 &&
    co < ci &&
    flippedTop >= 0 &&
    flippedBottom >= 0 &&
    flippedLeft >= 0 &&
    flippedRight >= 0
  ) {
    return conv2dBackpropFilterFlipped(backend, x, dy, [flippedTop, flippedBottom, flippedLeft, flippedRight], filterHeight, filterWidth);
  }
  const xT = transpose(backend, x, [3, 1, 2, 0]); // [Ci, H, W, N]: channels become the batch
  const dyT = transpose(backend, dy, [1, 2, 0, 3]); // [Ho, Wo, N, Co]: the gradient becomes the filter
  const conv = conv2d(backend, xT, dyT, [top, bottom, left, right], [strideHeight, strideWidth]);
  release(backend, xT, dyT);
  const cropped = crop(backend, conv, [0, 0, 0, 0], [ci, filterHeight, filterWidth, co]);
  const dw = transpose(backend, cropped, [1, 2, 0, 3]); // [kh, kw, Ci, Co]
  release(backend, cropped);
  return dw;
}

/**
 * Stride-1 filter gradient with the roles swapped, for layers with fewer output than input
 * channels (a decoder's last convolution has one): dW flipped = correlation of the padded,
 * channel-transposed dy with x as the filter. XNNPACK then produces Ci output channels instead of
 * a handful, which keeps its GEMM tiles full (4× faster for 16→1 at 64×64).
 */
function conv2dBackpropFilterFlipped(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  [top, bottom, left, right]: number[],
  kh: number,
  kw: number,
): tf.TensorInfo {
  const ci = dim(x.shape, 3);
  const co = dim(dy.shape, 3);
  const dyT = transpose(backend, dy, [3, 1, 2, 0]); // [Co, Ho, Wo, N]
  const xF = transpose(backend, x, [1, 2, 0, 3]); // [H, W, N, Ci]
  const conv = conv2d(backend, dyT, xF, [top!, bottom!, left!, right!], [1, 1]);
  release(backend, dyT, xF);
  // conv[co, kh−1−a, kw−1−b, ci] → dW[a, b, ci, co]: a small tensor, rearranged here. Views
  // after the allocation: growing the heap detaches earlier ones (wasm-heap-kernels.ts).
  const out = backend.makeOutput([kh, kw, ci, co], 'float32');
  const src = backend.typedArrayFromHeap(conv);
  const dst = backend.typedArrayFromHeap(out);
  for (let o = 0; o < co; o++) {
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const from = ((o * kh + (kh - 1 - a)) * kw + (kw - 1 - b)) * ci;
        const to = (a * kw + b) * ci * co + o;
        for (let c = 0; c < ci; c++) dst[to + c * co] = src[from + c]!;
      }
    }
  }
  release(backend, conv);
  return out;
}

/**
 * dx of a convolution (= the transposed convolution of dy) as one stride-1 convolution whose
 * s_h·s_w·Ci output channels are the phases of dx, interleaved by one rank-4 transpose.
 */
function conv2dBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  const s = info.strideHeight;
  const { filterHeight: kh, filterWidth: kw, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const m = Math.ceil(kh / s);
  const mw = Math.ceil(kw / s);
  const q0 = Math.floor(top / s);
  const q0w = Math.floor(left / s);
  const padTop = m - 1 - q0;
  const padLeft = mw - 1 - q0w;
  if (info.dataFormat !== 'channelsLast' || info.strideWidth !== s || padTop < 0 || padLeft < 0) {
    return originalKernel('Conv2DBackpropInput')(args);
  }
  const ci = info.inChannels;
  const co = info.outChannels;
  const phases = s * s;

  // Phase filter G[t, u, co, (rh·s + rw)·Ci + ci] = W[rh + s·(m−1−t), rw + s·(mw−1−u), ci, co].
  const gInfo = backend.makeOutput([m, mw, co, phases * ci], 'float32');
  const w = backend.typedArrayFromHeap(filter); // after the allocation, which may grow the heap
  const g = backend.typedArrayFromHeap(gInfo);
  g.fill(0);
  for (let t = 0; t < m; t++) {
    for (let u = 0; u < mw; u++) {
      for (let rh = 0; rh < s; rh++) {
        const a = rh + s * (m - 1 - t);
        if (a >= kh) continue;
        for (let rw = 0; rw < s; rw++) {
          const b = rw + s * (mw - 1 - u);
          if (b >= kw) continue;
          const src = (a * kw + b) * ci * co;
          const phase = (rh * s + rw) * ci;
          for (let c = 0; c < ci; c++) {
            const srcRow = src + c * co;
            let dst = (t * mw + u) * co * phases * ci + phase + c;
            for (let o = 0; o < co; o++, dst += phases * ci) g[dst] = w[srcRow + o] as number;
          }
        }
      }
    }
  }
  const rows = Math.ceil((top + H) / s) - q0;
  const cols = Math.ceil((left + W) / s) - q0w;
  const padBottom = Math.max(0, rows - Ho - padTop + m - 1);
  const padRight = Math.max(0, cols - Wo - padLeft + mw - 1);
  const conv = conv2d(backend, dy, gInfo, [padTop, padBottom, padLeft, padRight], [1, 1]);
  release(backend, gInfo);
  const n = dim(dy.shape, 0);
  let out = conv;
  if (s > 1) {
    // Interleave the phases: [N·R, C, s, s·Ci] → [N·R, s, C, s·Ci] is [N, R·s, C·s, Ci] in memory.
    // A rank-4 transpose is ~20× faster than wasm's DepthToSpace loop.
    const r = dim(conv.shape, 1);
    const c = dim(conv.shape, 2);
    const view = reshape(backend, conv, [n * r, c, s, s * ci]);
    const moved = transpose(backend, view, [0, 2, 1, 3]);
    release(backend, conv, view);
    out = reshape(backend, moved, [n, r * s, c * s, ci]);
    release(backend, moved);
  }
  return crop(backend, out, [0, top - s * q0, left - s * q0w, 0], [n, H, W, ci]);
}

/**
 * Matmul through XNNPACK's fully connected operator. Its transposed-operand paths (and the plain
 * BatchMatMul kernel) are generic loops; explicit rank-3 transposes cost far less.
 */
function batchMatMul({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const a0 = inputs.a as tf.TensorInfo;
  const b0 = inputs.b as tf.TensorInfo;
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  const batch = (shape: number[]) => shape.slice(0, -2).reduce((p, d) => p * d, 1);
  if (a0.shape.length < 2 || b0.shape.length < 2 || batch(a0.shape) !== 1 || batch(b0.shape) !== 1) {
    return call('BatchMatMul', backend, { a: a0, b: b0 }, attrs);
  }
  const as3d = (x: tf.TensorInfo) => reshape(backend, x, [1, ...x.shape.slice(-2)]);
  const a = as3d(a0);
  const b = as3d(b0);
  const aT = transposeA ? transpose(backend, a, [0, 2, 1]) : a;
  const bT = transposeB ? transpose(backend, b, [0, 2, 1]) : b;
  const out = call(
    '_FusedMatMul',
    backend,
    { a: aT, b: bT },
    {
      transposeA: false,
      transposeB: false,
      activation: 'linear',
      leakyreluAlpha: 0,
    },
  );
  if (aT !== a) release(backend, aT);
  if (bT !== b) release(backend, bT);
  release(backend, a, b);
  const outShape = [...a0.shape.slice(0, -2), dim(out.shape, 1), dim(out.shape, 2)];
  const shaped = reshape(backend, out, outShape);
  release(backend, out);
  return shaped;
}

/**
 * Registers the fast kernels on the wasm backend. Idempotent; call after the wasm backend is
 * registered and before training.
 */
export function registerFastWasmKernels(): void {
  if (registered) return;
  for (const name of ['Conv2D', 'Conv2DBackpropInput', 'BatchMatMul', '_FusedMatMul', 'Transpose', 'Slice', 'Reshape']) {
    const config = tf.getKernel(name, BACKEND);
    if (!config) throw new Error(`the wasm backend lacks kernel ${name}; is @tensorflow/tfjs-backend-wasm 4.22 installed?`);
    original[name] = config.kernelFunc as unknown as KernelFn;
  }
  const replace = (kernelName: string, kernelFunc: KernelFn): void => {
    // Keep the original's setupFunc: it binds the wasm function the fallback path still calls.
    const previous = tf.getKernel(kernelName, BACKEND);
    if (previous) tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel({
      kernelName,
      backendName: BACKEND,
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
      ...(previous?.setupFunc ? { setupFunc: previous.setupFunc } : {}),
    });
  };
  replace('Conv2DBackpropFilter', conv2dBackpropFilter);
  replace('Conv2DBackpropInput', conv2dBackpropInput);
  replace('BatchMatMul', batchMatMul);
  replace('MaxPoolGrad', maxPoolGrad);
  replace('ResizeNearestNeighborGrad', resizeNearestNeighborGrad);
  registered = true;
}
