import type { Metadata } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { StatusArea } from './_components/status-area';
import './globals.css';

export const metadata: Metadata = {
  title: 'Latent Atlas',
  description: 'Find similar images and group them with an autoencoder trained on your own collection.',
};

export default function RootLayout({ children }: { children: ReactNode }) {
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
          </nav>
        </header>
        <StatusArea />
        <main>{children}</main>
      </body>
    </html>
  );
}
