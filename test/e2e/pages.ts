/** Page objects: what a user does on each page, by data-testid. */
import { expect, type Page } from '@playwright/test';
import { mkdir } from 'node:fs/promises';

export async function snapshot(page: Page, name: string): Promise<void> {
  await mkdir('test-results/screenshots', { recursive: true });
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}

export class LibraryPage {
  constructor(readonly page: Page) {}
  async open() {
    await this.page.goto('/library');
  }
  async upload(files: string[]) {
    await this.page.getByTestId('library-drop-input').setInputFiles(files);
    await expect(this.page.getByTestId('upload-summary')).toContainText('Done', { timeout: 60_000 });
  }
  async loadSamples() {
    await this.page.getByTestId('load-samples').click();
    await expect(this.page.getByTestId('samples-state')).toContainText('succeeded', { timeout: 120_000 });
  }
  refused() {
    return this.page.getByTestId('refused-file');
  }
  gridItems() {
    return this.page.getByTestId('library-grid').getByTestId('grid-item');
  }
}

export class ModelsPage {
  constructor(readonly page: Page) {}
  async open() {
    await this.page.goto('/models');
  }
  async train(epochs: number) {
    await this.page.getByTestId('train-epochs').fill(String(epochs));
    await this.page.getByTestId('train-start').click();
  }
}

export class SearchPage {
  constructor(readonly page: Page) {}
  async open() {
    await this.page.goto('/');
  }
  async searchWith(file: string) {
    await this.page.getByTestId('search-drop-input').setInputFiles(file);
  }
  results() {
    return this.page.getByTestId('search-results').getByTestId('grid-item');
  }
}

export class ClustersPage {
  constructor(readonly page: Page) {}
  async open() {
    await this.page.goto('/clusters');
  }
  async run(k: number) {
    await this.page.getByTestId('cluster-k').selectOption(String(k));
    await this.page.getByTestId('run-clustering').click();
  }
  cards() {
    return this.page.getByTestId('cluster-card');
  }
}
