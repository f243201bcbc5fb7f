import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { diagramModel, htmlDiagram } from '../../src/diagram';
import { fixedHistory } from './fixed-history';

jest.setTimeout(60_000);

/**
 * The HTML diagram in a real browser: Debian's Chromium, driven by
 * playwright-core (no browser is downloaded; `.ci/run` installs chromium
 * when it is absent). It runs everywhere, CI included: never skipped.
 */
describe('the HTML Lamport diagram in Chromium', () => {
  let dir: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medals-diagram-'));
    const file = join(dir, 'diagram.html');
    writeFileSync(file, htmlDiagram(diagramModel(fixedHistory(), 'fixed history')));
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await context.newPage();
    await page.setViewportSize({ width: 1_200, height: 700 });
    await page.goto(pathToFileURL(file).href);
  });

  afterAll(async () => {
    await context?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens, and hovering a delivery shows its position in the total order', async () => {
    await page.hover('g.dlv-g[data-node="fe1"][data-seq="2"] circle', { force: true });
    const tip = page.locator('#tip');
    await tip.waitFor({ state: 'visible' });
    expect(await tip.textContent()).toBe(
      "fe1 delivers fe2:1 at position 2 of the total order, 0.190 s; fe1's clock +20.0 ms",
    );
    await page.hover('g.dlv-g[data-node="fe2"][data-seq="1"] circle', { force: true });
    expect(await tip.textContent()).toContain(
      'fe2 delivers fe1:1 at position 1 of the total order',
    );
  });

  it("shows a node's clock offset when hovering its lane, before and after a correction", async () => {
    const lane = page.locator('rect.lane-hit[data-node="fe1"]');
    const box = (await lane.boundingBox())!;
    // The run spans 0 to 1,000 ms; fe1 starts 20 ms ahead and is corrected by -19 ms at 200 ms.
    const tipAt = async (ms: number): Promise<string | null> => {
      await lane.hover({
        position: { x: (box.width * ms) / 1_000, y: box.height / 2 },
        force: true,
      });
      return page.locator('#tip').textContent();
    };
    expect(await tipAt(150)).toMatch(/^fe1 at 0\.1\d\d s: clock \+20\.0 ms$/);
    expect(await tipAt(550)).toMatch(/^fe1 at 0\.5\d\d s: clock \+1\.0 ms$/);
  });

  it('hides a message type when its filter is unchecked, and shows it again', async () => {
    const orders = page.locator('.t-sequencer_order');
    expect(await orders.count()).toBe(2);
    const visible = (): Promise<boolean[]> =>
      orders.evaluateAll((els) =>
        els.map((el) => !(el.getAttribute('style') ?? '').includes('none')),
      );
    await page.uncheck('input[data-filter=".t-sequencer_order"]');
    expect(await visible()).toEqual([false, false]);
    expect(
      await page.locator('.t-sequencer_submit').evaluate((el) => el.getAttribute('style') ?? ''),
    ).toBe('');
    await page.check('input[data-filter=".t-sequencer_order"]');
    expect(await visible()).toEqual([true, true]);
  });

  it('zooms in on the wheel', async () => {
    const before = await page.locator('#lamport-diagram').getAttribute('viewBox');
    await page.mouse.move(400, 300);
    await page.mouse.wheel(0, -300);
    await page.waitForFunction(
      `document.getElementById('lamport-diagram').getAttribute('viewBox') !== ${JSON.stringify(before)}`,
    );
    const width = (box: string | null): number => Number(box!.split(' ')[2]);
    expect(width(await page.locator('#lamport-diagram').getAttribute('viewBox'))).toBeLessThan(
      width(before),
    );
  });
});
