import type { Metadata } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { StatusArea } from './_components/status-area';
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

export default function RootLayout({ children }: { children: ReactNode }) {
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
