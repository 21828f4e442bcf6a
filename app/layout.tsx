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

const PAGES = [
  ['/', 'Search'],
  ['/library', 'Library'],
  ['/clusters', 'Clusters'],
  ['/models', 'Models'],
  ['/segment', 'Segment'],
  ['/duplicates', 'Duplicates'],
  ['/outliers', 'Outliers'],
  ['/import', 'Import'],
] as const;

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
            {PAGES.map(([href, label]) => (
              <Link key={href} href={href} data-testid={`nav-${label.toLowerCase()}`}>
                {label}
              </Link>
            ))}
          </nav>
        </header>
        <StatusArea />
        <main>{children}</main>
      </body>
    </html>
  );
}
