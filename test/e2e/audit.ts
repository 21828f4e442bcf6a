/**
 * What every page must satisfy, whoever looks at it: axe-core's WCAG 2 A/AA rules, no sideways
 * scrolling at a phone's width, and screenshots at a phone's and a desktop's size (the artefacts
 * in test-results/screenshots). Also the keyboard helper the keyboard-only tests move with.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';
import { snapshot } from './pages';

/** axe-core's tags for WCAG 2.0 and 2.1, levels A and AA. */
export const WCAG_AA = Object.freeze(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']);
export const PHONE = Object.freeze({ width: 390, height: 844 });
export const DESKTOP = Object.freeze({ width: 1400, height: 1000 });

export interface Violation {
  rule: string;
  impact: string | null;
  help: string;
  /** The offending elements' selectors. */
  elements: string[];
}

/** The page's WCAG 2 A/AA violations, one entry per rule with the elements that break it. */
export async function axeViolations(page: Page): Promise<Violation[]> {
  const { violations } = await new AxeBuilder({ page }).withTags([...WCAG_AA]).analyze();
  return violations.map((v) => ({
    rule: v.id,
    impact: v.impact ?? null,
    help: v.help,
    elements: v.nodes.map((n) => n.target.map(String).join(' ')),
  }));
}

/** How much wider than the viewport the page is (0: no sideways scrolling). */
export function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Screenshots of the page as it stands at the desktop and the phone size (`<name>-1400.png`, `<name>-390.png`). */
export async function screenshotsAtBothSizes(page: Page, name: string): Promise<number> {
  await page.setViewportSize(DESKTOP);
  await snapshot(page, `${name}-1400`);
  await page.setViewportSize(PHONE);
  // Layout settles (charts resize on the next frame).
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  await snapshot(page, `${name}-390`);
  return sidewaysOverflow(page);
}

/**
 * Presses Tab (Shift+Tab with `back`) until the element with `testId` has the focus, the way a
 * keyboard user reaches it; fails if it never does.
 */
export async function tabTo(page: Page, testId: string, { back = false, maxPresses = 80 } = {}): Promise<void> {
  for (let i = 0; i < maxPresses; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    if (await page.evaluate((id) => document.activeElement?.getAttribute('data-testid') === id, testId)) return;
  }
  expect.soft(false, `${testId} was not reached with ${maxPresses} presses of Tab`).toBe(true);
  throw new Error(`${testId} is not reachable by keyboard`);
}
