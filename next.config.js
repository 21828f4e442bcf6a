// Next.js configuration. The engine, the decoders and the native addons run as plain Node
// packages on the server (never bundled); the app's own lib/ is compiled with the pages.
/** @type {import('next').NextConfig} */
const nextConfig = {
  serverExternalPackages: [
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
    'sharp',
    'better-sqlite3',
    'hnswlib-node',
    'umap-js',
    'ml-kmeans',
    'ml-pca',
    'dicom-parser',
    'dcmjs',
    'busboy',
  ],
  poweredByHeader: false,
  reactStrictMode: true,
  // npm test type-checks and lints the whole tree; the build need not do it again.
  typescript: { ignoreBuildErrors: true },
  eslint: { ignoreDuringBuilds: true },
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'Referrer-Policy', value: 'same-origin' },
          {
            key: 'Content-Security-Policy',
            value:
              "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
          },
        ],
      },
    ];
  },
};

export default nextConfig;
