import { describe, expect, it } from 'vitest';
import { PRESETS, inputShapeOf, parseModelSpec, presetSpec } from '../../../lib/models/spec';
import { invalidInputMessage } from '../../helpers/errors';

const errorOf = invalidInputMessage;

describe('model specs', () => {
  it('fills defaults', () => {
    const spec = parseModelSpec({ arch: 'conv', inputShape: [28, 28, 1], latentSize: 16 });
    expect(spec).toMatchObject({ filters: [32, 64], downsample: 'maxpool', upsampling: 'nearest', loss: 'mse', seed: 42 });
  });

  it('refuses an unknown arch, listing the valid ones', () => {
    expect(errorOf(() => parseModelSpec({ arch: 'vae' }))).toMatch(/unknown arch "vae"; valid architectures: dense, conv, stacked/);
  });

  it('refuses unknown options, listing the valid ones', () => {
    const message = errorOf(() => parseModelSpec({ arch: 'conv', inputShape: [28, 28, 1], latentSize: 8, dropout: 0.5 }));
    expect(message).toMatch(/unknown option 'dropout' for arch 'conv'; valid options: arch, inputShape, latentSize/);
  });

  it('refuses neighbour positives, debiasing or i-Mix on a loss other than NT-Xent, i-Mix with the others, and a prior of 1', () => {
    const base = { arch: 'conv', inputShape: [32, 32, 3], latentSize: 8 };
    expect(errorOf(() => parseModelSpec({ ...base, contrastive: { loss: 'vicreg', neighbours: {} } }))).toMatch(/need loss 'ntxent'/);
    expect(errorOf(() => parseModelSpec({ ...base, contrastive: { loss: 'simsiam', debias: 0.2 } }))).toMatch(/need loss 'ntxent'/);
    expect(errorOf(() => parseModelSpec({ ...base, contrastive: { debias: 1 } }))).toMatch(/debias/);
    expect(errorOf(() => parseModelSpec({ ...base, contrastive: { loss: 'vicreg', mix: true } }))).toMatch(/need loss 'ntxent'/);
    expect(errorOf(() => parseModelSpec({ ...base, contrastive: { mix: true, neighbours: {} } }))).toMatch(/cannot be combined/);
    expect(parseModelSpec({ ...base, contrastive: { neighbours: {} } })).toMatchObject({
      contrastive: { debias: 0, neighbours: { weight: 1, warmup: 0.3 } },
    });
  });

  it('refuses an unknown upsampling mode, naming the valid ones', () => {
    expect(errorOf(() => parseModelSpec({ arch: 'conv', inputShape: [28, 28, 1], latentSize: 8, upsampling: 'cubic' }))).toMatch(
      /upsampling.*"nearest".*"bilinear".*"transposed"/,
    );
  });

  it('refuses a sparse AE without a sigmoid code, and BCE without sigmoid output', () => {
    expect(
      errorOf(() =>
        parseModelSpec({ arch: 'dense', inputShape: [28, 28, 1], latentSize: 8, latentActivation: 'relu', sparse: { rho: 0.05, beta: 3 } }),
      ),
    ).toMatch(/sparse AE needs latentActivation 'sigmoid'/);
    expect(
      errorOf(() => parseModelSpec({ arch: 'dense', inputShape: [28, 28, 1], latentSize: 8, outputActivation: 'linear', loss: 'bce' })),
    ).toMatch(/loss 'bce' needs outputActivation 'sigmoid'/);
  });

  it('refuses bad shapes and sizes', () => {
    expect(errorOf(() => parseModelSpec({ arch: 'dense', inputShape: [28, 28, 2], latentSize: 8 }))).toMatch(/inputShape\.2/);
    expect(errorOf(() => parseModelSpec({ arch: 'dense', inputShape: [28, 28, 1], latentSize: 0 }))).toMatch(/latentSize/);
  });

  it('the reference CAE preset is the PyTorch reference architecture', () => {
    expect(presetSpec('reference-cae')).toMatchObject({
      arch: 'conv',
      filters: [32, 64, 128],
      latentSize: 64,
      downsample: 'stride',
      upsampling: 'transposed',
    });
    expect(errorOf(() => presetSpec('resnet'))).toMatch(/valid presets: reference-cae/);
  });

  it("a preset's input shape stands unless --size or --channels is given (npm run train -- --preset photo-cae)", () => {
    const photo = PRESETS['photo-cae'].inputShape;
    expect(inputShapeOf(photo, {})).toEqual([...photo]);
    expect(inputShapeOf(photo, { size: 48 })).toEqual([48, 48, photo[2]]);
    expect(inputShapeOf(photo, { channels: 1 })).toEqual([photo[0], photo[1], 1]);
    expect(inputShapeOf(undefined, {})).toEqual([28, 28, 1]);
    expect(inputShapeOf(undefined, { size: 64, channels: 3 })).toEqual([64, 64, 3]);
  });
});
