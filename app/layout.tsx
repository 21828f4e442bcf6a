import type { Metadata } from 'next';
import { cookies, headers } from 'next/headers';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { StatusArea } from './_components/status-area';
import { allowed, TOKEN_COOKIE } from './_server/access';
import { server } from './_server/library';
import './globals.css';

export const metadata: Metadata = {
  title: 'Latent Atlas',
  description: 'Find similar images and group them with an autoencoder trained on your own collection.',
};

export const dynamic = 'force-dynamic';

export default async function RootLayout({ children }: { children: ReactNode }) {
  const { config } = await server();
  if (!allowed(config, (await headers()).get('authorization'), (await cookies()).get(TOKEN_COOKIE)?.value))
    return (
      <html lang="en">
        <body>
          <main>
            <h1>Latent Atlas</h1>
            <p data-testid="token-required">This Latent Atlas is protected: open /api/session?token=&lt;your token&gt; once to enter.</p>
          </main>
        </body>
      </html>
    );
  return (
    <html lang="en">
      <body>
        <header className="top">
          <Link href="/" className="brand">
            Latent Atlas
          </Link>
          <nav>
            <Link href="/" data-testid="nav-search">
              Search
            </Link>
            <Link href="/library" data-testid="nav-library">
              Library
            </Link>
            <Link href="/clusters" data-testid="nav-clusters">
              Clusters
            </Link>
            <Link href="/models" data-testid="nav-models">
              Models
            </Link>
            <Link href="/segment" data-testid="nav-segment">
              Segment
            </Link>
          </nav>
        </header>
        <StatusArea />
        <main>{children}</main>
      </body>
    </html>
  );
}
