/**
 * The small convolutional autoencoder the tests train on 28×28 grey images (Fashion-MNIST): two
 * strided conv blocks and transposed upsampling, fast enough for a test yet a real model. Extra
 * fields (a clustering head, another latent size) override the defaults.
 */
import { parseModelSpec, type ModelSpec } from '../../lib/models/spec';

export function tinyConvSpec(extra: Record<string, unknown> = {}): ModelSpec {
  return parseModelSpec({
    arch: 'conv',
    inputShape: [28, 28, 1],
    latentSize: 16,
    filters: [8, 16],
    downsample: 'stride',
    upsampling: 'transposed',
    ...extra,
  });
}
