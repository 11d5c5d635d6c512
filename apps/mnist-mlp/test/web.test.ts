import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel, checkpointBytes, restoreCheckpoint, toSafetensors } from '@neurite/nn';
import { tensor } from '@neurite/tensor';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng } from '../src/core/image.js';
import { layerActivations } from '../src/core/inference.js';
import { preprocess } from '../src/core/preprocess.js';
import type {} from '../web/src/debug-hook.js';
import { type StaticSite, serveStatic } from './web/serve.js';
import { ONE, SEVEN, type Stroke, ZERO } from './web/strokes.js';

const CHROMIUM = '/usr/bin/chromium';
const app = fileURLToPath(new URL('..', import.meta.url));
const artefacts = join(app, 'test-results');
const shipped = (name: string) => join(app, 'web/public/models', `${name}.safetensors`);

interface Snapshot {
  model: string;
  sizes: number[];
  input: number[];
  activations: number[][];
  prediction: number | null;
}

/**
 * The web page, built by Vite as `pnpm build` builds it, served from
 * 127.0.0.1 and driven in Debian's Chromium: drawing, the network picture,
 * hover heat maps, model switching, a dropped checkpoint and training in a
 * worker, with no console errors and no request leaving the page's origin;
 * the keyboard path, what a screen reader is told, the phone layout and the
 * size of what training downloads.
 */
describe.skipIf(!existsSync(CHROMIUM))('web page in Chromium', () => {
  let outDir: string;
  let site: StaticSite;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'mnist-mlp-web-'));
    await mkdir(artefacts, { recursive: true });
    await build({
      configFile: join(app, 'vite.config.ts'),
      build: { outDir, emptyOutDir: true },
      logLevel: 'error',
    });
    site = await serveStatic(outDir);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
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
    page = await browser.newPage({ viewport: { width: 1360, height: 1000 }, deviceScaleFactor: 1 });
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(site.url)) return route.continue();
      foreign.push(url);
      return route.abort();
    });
    await page.goto(site.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  const snapshot = () => page.evaluate(() => window.__neurite!.snapshot()) as Promise<Snapshot>;

  /** Pad coordinates of a stroke, with points every ~12 px so each is one pointer move. */
  async function path(stroke: Stroke): Promise<[number, number][]> {
    const box = (await page.getByTestId('pad').boundingBox())!;
    const points: [number, number][] = [];
    stroke.forEach(([x, y], i) => {
      const to: [number, number] = [box.x + x * box.width, box.y + y * box.height];
      const from = points[points.length - 1];
      if (i > 0 && from) {
        const steps = Math.max(1, Math.ceil(Math.hypot(to[0] - from[0], to[1] - from[1]) / 12));
        for (let k = 1; k < steps; k++) {
          points.push([
            from[0] + ((to[0] - from[0]) * k) / steps,
            from[1] + ((to[1] - from[1]) * k) / steps,
          ]);
        }
      }
      points.push(to);
    });
    return points;
  }

  const nextFrame = () =>
    page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));

  async function clear(): Promise<void> {
    await page.getByTestId('clear').click();
    await nextFrame();
  }

  /** Draws with the mouse, button held along each stroke. */
  async function draw(strokes: readonly Stroke[]): Promise<void> {
    for (const stroke of strokes) {
      const [first, ...rest] = await path(stroke);
      await page.mouse.move(...first!);
      await page.mouse.down();
      for (const point of rest) await page.mouse.move(...point);
      await page.mouse.up();
    }
    await nextFrame();
  }

  /** Draws with a finger: touch events, which the browser turns into touch pointer events. */
  async function drawByTouch(strokes: readonly Stroke[]): Promise<void> {
    const cdp = await page.context().newCDPSession(page);
    for (const stroke of strokes) {
      const [first, ...rest] = await path(stroke);
      const touch = ([x, y]: [number, number]) => [{ x, y, id: 1 }];
      await cdp.send('Input.dispatchTouchEvent', {
        type: 'touchStart',
        touchPoints: touch(first!),
      });
      for (const point of rest) {
        await cdp.send('Input.dispatchTouchEvent', {
          type: 'touchMove',
          touchPoints: touch(point),
        });
      }
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    }
    await cdp.detach();
    await nextFrame();
  }

  /** The pad's pixels as a PNG, through the CLI's own reading of a picture: decodePng, preprocess. */
  async function preprocessedLikePredict(): Promise<Float32Array> {
    const url = await page
      .getByTestId('pad')
      .evaluate((canvas: HTMLCanvasElement) => canvas.toDataURL('image/png'));
    const png = new Uint8Array(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
    return preprocess(decodePng(png, 'pad.png')).pixels;
  }

  async function outputsInNode(checkpoint: Uint8Array, input: number[]): Promise<Float32Array> {
    const { model, spec } = restoreCheckpoint(checkpoint);
    const layers = layerActivations(model, spec, Float32Array.from(input));
    return layers[layers.length - 1]!.values;
  }

  it('bundles no Node-only module', async () => {
    const assets = join(outDir, 'assets');
    const scripts = (await readdir(assets)).filter((f) => f.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(1);
    for (const file of scripts) {
      const code = await readFile(join(assets, file), 'utf8');
      expect(code, file).not.toMatch(
        /from\s*["']node:|import\(\s*["']node:|__vite-browser-external/,
      );
    }
  });

  it('shows a blank drawing as empty, predicting nothing', async () => {
    const blank = await snapshot();
    expect(blank.model).toBe('ReLU');
    expect(blank.sizes).toEqual([784, 16, 16, 10]);
    expect(blank.prediction).toBeNull();
    expect(blank.input.every((v) => v === 0)).toBe(true);
    await expect(page.getByTestId('prediction').textContent()).resolves.toBe('–');
  });

  for (const [digit, strokes] of [
    [1, ONE],
    [7, SEVEN],
    [0, ZERO],
  ] as const) {
    it(`reads a drawn ${digit} as ${digit}, as predict reads the same picture`, async () => {
      await clear();
      const blank = await snapshot();
      expect(blank.prediction).toBeNull();
      await draw(strokes);
      const drawn = await snapshot();
      await page.screenshot({ path: join(artefacts, `web-${digit}.png`), fullPage: true });

      expect(drawn.prediction).toBe(digit);
      await expect(page.getByTestId('prediction').textContent()).resolves.toBe(String(digit));
      // Every layer responds to the ink.
      for (let l = 0; l < drawn.activations.length; l++) {
        expect(drawn.activations[l], `layer ${l}`).not.toEqual(blank.activations[l]);
      }
      // The input is the drawing after predict's preprocessing …
      const expected = await preprocessedLikePredict();
      expect(drawn.input).toEqual(Array.from(expected));
      // … and the outputs are the shipped network's on that input.
      const outputs = await outputsInNode(await readFile(shipped('modern')), drawn.input);
      const shown = drawn.activations[drawn.activations.length - 1]!;
      for (const [i, v] of shown.entries()) expect(v).toBeCloseTo(outputs[i]!, 5);
    });
  }

  it('draws with a finger too', async () => {
    await clear();
    expect((await snapshot()).prediction).toBeNull();
    await drawByTouch(SEVEN);
    expect((await snapshot()).prediction).toBe(7);
    await clear();
    await draw(ZERO);
  });

  it("shows a hidden neuron's incoming weights as a heat map on hover", async () => {
    const tooltip = page.getByTestId('neuron-tooltip');
    for (const [layer, side] of [
      [1, 28],
      [2, 4],
    ] as const) {
      const centre = await page.evaluate((l) => window.__neurite!.neuronCentre(l, 5), layer);
      await page.mouse.move(centre!.x, centre!.y);
      await expect(tooltip.isVisible()).resolves.toBe(true);
      await expect(tooltip.getAttribute('data-layer')).resolves.toBe(String(layer));
      const size = await tooltip
        .locator('canvas')
        .evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
      expect(size).toEqual([side, side]);
      if (layer === 1) await page.screenshot({ path: join(artefacts, 'web-hover.png') });
    }
    await page.mouse.move(5, 5);
    await expect(tooltip.isVisible()).resolves.toBe(false);
  });

  it('switches to the sigmoid network and back', async () => {
    const relu = await snapshot();
    await page.getByTestId('model-classic').click();
    const sigmoid = await snapshot();
    expect(sigmoid.model).toBe('Sigmoid');
    expect(sigmoid.input).toEqual(relu.input);
    // Sigmoid neurons stay inside [0, 1], ReLU ones do not; the drawn 0 is still a 0.
    expect(relu.activations[1]!.some((v) => v > 1)).toBe(true);
    for (const layer of sigmoid.activations.slice(1)) {
      for (const v of layer) expect(v >= 0 && v <= 1).toBe(true);
    }
    expect(sigmoid.prediction).toBe(0);
    const outputs = await outputsInNode(await readFile(shipped('classic')), sigmoid.input);
    for (const [i, v] of sigmoid.activations[3]!.entries()) expect(v).toBeCloseTo(outputs[i]!, 5);
    await page.getByTestId('model-modern').click();
    expect((await snapshot()).model).toBe('ReLU');
  });

  interface Stop {
    id: string;
    /** The focused element's outline, as the browser draws it. */
    outline: { style: string; width: number };
  }

  /** Presses Tab until `testId` has the focus; where the focus went on the way, in order. */
  async function tabTo(testId: string, limit = 40): Promise<Stop[]> {
    const passed: Stop[] = [];
    for (let i = 0; i < limit; i++) {
      await page.keyboard.press('Tab');
      const stop = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        const style = el ? getComputedStyle(el) : null;
        return {
          id: el?.dataset.testid ?? el?.tagName ?? '',
          outline: {
            style: style?.outlineStyle ?? 'none',
            width: Number.parseFloat(style?.outlineWidth ?? '0'),
          },
        };
      });
      passed.push(stop);
      if (stop.id === testId) return passed;
    }
    throw new Error(
      `Tab never reached ${testId}; it went through ${passed.map((p) => p.id).join(', ')}`,
    );
  }

  it('is operable with the keyboard alone, with a visible focus ring on every control', async () => {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.mouse.click(2, 2);
    const controls = [
      'model-modern',
      'model-classic',
      'load-checkpoint',
      'pad',
      'clear',
      'sample',
      'network',
      'train-recipe',
      'train-examples',
      'train-epochs',
      'train-start',
    ];
    const stops = await tabTo('train-start');
    expect(stops.map((s) => s.id).filter((id) => controls.includes(id))).toEqual(controls);
    for (const { id, outline } of stops) {
      expect(outline.style, id).not.toBe('none');
      expect(outline.width, id).toBeGreaterThanOrEqual(2);
    }

    // Draw from the keyboard: a digit key draws a sample of that digit, Escape clears.
    await page.mouse.click(2, 2);
    await tabTo('pad');
    for (const digit of [4, 8, 2]) {
      await page.keyboard.press(String(digit));
      await nextFrame();
      expect((await snapshot()).prediction).toBe(digit);
    }
    await page.keyboard.press('Escape');
    await nextFrame();
    expect((await snapshot()).prediction).toBeNull();
    await page.keyboard.press('5');
    await nextFrame();
    expect((await snapshot()).prediction).toBe(5);

    // Inspect the neurons with the arrow keys on the focused network picture.
    await page.mouse.click(2, 2);
    await tabTo('network');
    const tooltip = page.getByTestId('neuron-tooltip');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await expect(tooltip.isVisible()).resolves.toBe(true);
    await expect(tooltip.getAttribute('data-layer')).resolves.toBe('1');
    await expect(tooltip.getAttribute('data-index')).resolves.toBe('1');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await expect(tooltip.getAttribute('data-layer')).resolves.toBe('3');
    await expect(tooltip.locator('h3').textContent()).resolves.toBe('output 1');
    await page.keyboard.press('Escape');
    await expect(tooltip.isVisible()).resolves.toBe(false);

    // Switch models with Enter.
    await page.mouse.click(2, 2);
    await tabTo('model-classic');
    await page.keyboard.press('Enter');
    expect((await snapshot()).model).toBe('Sigmoid');
    await expect(page.getByTestId('model-classic').getAttribute('aria-pressed')).resolves.toBe(
      'true',
    );
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    expect((await snapshot()).model).toBe('ReLU');

    // Load a checkpoint: Tab to the button, Enter opens the file chooser.
    const model = buildModel(
      {
        name: 'keyed',
        input: [784],
        layers: [
          { type: 'dense', units: 12, activation: 'relu' },
          { type: 'dense', units: 10 },
        ],
      },
      { seed: 3 },
    );
    const file = join(outDir, 'keyed.safetensors');
    await writeFile(file, checkpointBytes(model));
    // Listening before the key is pressed: Playwright catches file choosers only once it listens.
    const choosing = page.waitForEvent('filechooser');
    await page.mouse.click(2, 2);
    await tabTo('load-checkpoint');
    await page.keyboard.press('Enter');
    const chooser = await choosing;
    await chooser.setFiles(file);
    await page.waitForFunction(() => window.__neurite!.snapshot().model === 'keyed.safetensors');
    expect((await snapshot()).sizes).toEqual([784, 12, 10]);
    await page.getByTestId('model-modern').click();
  }, 60_000);

  it('tells a screen reader the prediction and the training status, and names every picture', async () => {
    const verdict = page.getByTestId('verdict');
    await expect(verdict.getAttribute('aria-live')).resolves.toBe('polite');
    await expect(verdict.getAttribute('aria-atomic')).resolves.toBe('true');
    await page.getByTestId('pad').focus();
    await page.keyboard.press('7');
    await nextFrame();
    const said = (await verdict.textContent())!.replace(/\s+/g, ' ').trim();
    expect(said).toMatch(/^Prediction: 7 \d+\.\d% probability$/);
    // Mid-stroke the region is busy (announced once the stroke ends), then not.
    const pad = (await page.getByTestId('pad').boundingBox())!;
    await page.mouse.move(pad.x + pad.width / 2, pad.y + pad.height / 3);
    await page.mouse.down();
    await page.mouse.move(pad.x + pad.width / 2, pad.y + pad.height / 2);
    await expect(verdict.getAttribute('aria-busy')).resolves.toBe('true');
    await page.mouse.up();
    await expect(verdict.getAttribute('aria-busy')).resolves.toBe('false');
    await expect(page.getByTestId('train-status').getAttribute('aria-live')).resolves.toBe(
      'polite',
    );
    // Every canvas is an image with a name, whether from aria-label or aria-labelledby.
    const names = await page.evaluate(() =>
      Array.from(document.querySelectorAll('canvas'), (canvas) => {
        const by = canvas.getAttribute('aria-labelledby');
        const name = by
          ? (document.getElementById(by)?.textContent ?? '')
          : (canvas.getAttribute('aria-label') ?? '');
        return { id: canvas.id || canvas.className, role: canvas.getAttribute('role'), name };
      }),
    );
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const { id, role, name } of names) {
      expect(role, id).toBe('img');
      expect(name.trim(), id).not.toBe('');
    }
    const network = await page.getByTestId('network').getAttribute('aria-label');
    expect(network).toMatch(
      /784 input pixels, hidden layers of 16 and 16 neurons, 10 outputs; output 7/,
    );
  });

  it('explains the idle biases and the output wording, and links to the README', async () => {
    await expect(page.getByTestId('bias-note').textContent()).resolves.toMatch(/bias/);
    await expect(page.getByTestId('output-note').textContent()).resolves.toMatch(
      /probabilities[\s\S]*activations/,
    );
    await page.getByTestId('model-classic').click();
    await expect(page.getByTestId('confidence').textContent()).resolves.toMatch(/activation$/);
    await page.getByTestId('model-modern').click();
    const links = await page.evaluate(() =>
      Array.from(document.querySelectorAll('a'), (a) => a.href),
    );
    expect(links).toContain('https://github.com/neurite/neurite#readme');
  });

  it('runs a checkpoint dropped on the page, and explains a file that is not one', async () => {
    // A network of another shape, so the picture must follow the file's own spec.
    const model = buildModel(
      {
        name: 'dropped',
        input: [784],
        layers: [
          { type: 'dense', units: 8, activation: 'tanh' },
          { type: 'dense', units: 10 },
        ],
      },
      { seed: 7 },
    );
    const bytes = checkpointBytes(model);
    const drop = async (name: string, content: Uint8Array) => {
      const dataTransfer = await page.evaluateHandle(
        ([file, data]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(data)], file));
          return transfer;
        },
        [name, Array.from(content)] as const,
      );
      await page.dispatchEvent('body', 'drop', { dataTransfer });
    };

    await drop('tiny.safetensors', bytes);
    await page.waitForFunction(() => window.__neurite!.snapshot().model === 'tiny.safetensors');
    const dropped = await snapshot();
    expect(dropped.sizes).toEqual([784, 8, 10]);
    const outputs = await outputsInNode(bytes, dropped.input);
    for (const [i, v] of dropped.activations[2]!.entries()) expect(v).toBeCloseTo(outputs[i]!, 5);
    await expect(page.getByTestId('model-custom').textContent()).resolves.toBe('tiny.safetensors');
    await page.screenshot({ path: join(artefacts, 'web-dropped.png'), fullPage: true });

    await drop('notes.txt', new TextEncoder().encode('not a checkpoint'));
    const error = page.getByTestId('error');
    await error.waitFor({ state: 'visible' });
    await expect(error.textContent()).resolves.toMatch(
      /^notes\.txt is not a \.safetensors checkpoint, so this page cannot show it \(/,
    );
    // The page keeps the network it had.
    expect((await snapshot()).model).toBe('tiny.safetensors');

    // Weights without a spec (a PyTorch state dict, say): words for a web user, not an API call.
    await drop(
      'torch.safetensors',
      toSafetensors({
        weight: tensor(new Float32Array(20), { shape: [10, 2] }),
        bias: tensor(new Float32Array(10), { shape: [10] }),
      }),
    );
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="error"]')?.textContent?.startsWith('torch.safetensors'),
    );
    const message = (await error.textContent())!;
    expect(message).toMatch(/holds weights but not the description of the network/);
    expect(message).toMatch(/PyTorch/);
    expect(message).not.toMatch(/fromSafetensors|into:|\{/);
  });

  it('trains in a worker, started from the keyboard: one epoch on 4,000 digits lifts test accuracy', async () => {
    await page.getByTestId('train-recipe').selectOption('modern');
    await page.getByTestId('train-examples').selectOption('4000');
    await page.getByTestId('train-epochs').fill('1');
    const before = site.requests.length;
    const received: { url: string; bytes: number }[] = [];
    const onResponse = async (response: import('playwright-core').Response) => {
      const body = await response.body().catch(() => Buffer.alloc(0));
      received.push({ url: response.url(), bytes: body.length });
    };
    page.on('response', onResponse);
    await page.getByTestId('train-epochs').focus();
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('train-start');
    await page.keyboard.press('Enter');
    const status = page.getByTestId('train-status');
    await page.waitForSelector('[data-testid="train-status"][data-state="done"]', {
      timeout: 60_000,
    });
    // It ran off the page's thread; the page is cross-origin isolated, so the
    // training worker ran its big products on kernel threads of its own too.
    const urls = page.workers().map((w) => w.url());
    expect(urls.filter((u) => !u.startsWith('blob:'))).toHaveLength(1);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    expect(urls.filter((u) => u.startsWith('blob:')).length).toBe(cores > 1 ? cores - 1 : 0);
    page.off('response', onResponse);

    // What training downloaded: its worker's script and one binary file of digits, at most
    // 2 MB, whose size the section states.
    const fetched = site.requests.slice(before);
    const digits = fetched.filter((p) => p.endsWith('/mnist-digits.bin'));
    expect(digits).toHaveLength(1);
    const onDisk = (await stat(join(outDir, digits[0]!))).size;
    expect(onDisk).toBeLessThanOrEqual(2_000_000);
    const stated = await page.getByTestId('digits-size').textContent();
    expect(stated).toBe(`${(onDisk / 1e6).toFixed(1)} MB`);
    const got = received.find((r) => r.url.endsWith('/mnist-digits.bin'));
    expect(got?.bytes).toBe(onDisk);
    const sizes = await Promise.all(fetched.map(async (p) => (await stat(join(outDir, p))).size));
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(fetched.every((p) => p.startsWith('/assets/'))).toBe(true);
    expect(total).toBeLessThan(2_500_000);
    const initial = Number(await status.getAttribute('data-initial-accuracy'));
    const final = Number(await status.getAttribute('data-accuracy'));
    expect(initial).toBeLessThan(0.3);
    expect(final).toBeGreaterThan(initial + 0.3);
    // The trained network is now the one drawn.
    const trained = await snapshot();
    expect(trained.model).toBe('Trained here');
    expect(trained.sizes).toEqual([784, 16, 16, 10]);
    await page.screenshot({ path: join(artefacts, 'web-trained.png'), fullPage: true });

    // What it offers to download is a checkpoint the CLI reads, with the run's record.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('train-download').click(),
    ]);
    const file = join(outDir, 'trained-here.safetensors');
    await download.saveAs(file);
    const { spec, meta } = restoreCheckpoint(new Uint8Array(await readFile(file)));
    expect(spec.layers.map((l) => (l.type === 'dense' ? l.units : 0))).toEqual([16, 16, 10]);
    expect(meta).toMatchObject({
      app: 'mnist-mlp',
      recipe: 'modern',
      epochsRun: 1,
      trainExamples: 4000,
      testAccuracy: final,
    });
  }, 90_000);

  it('shows the pad and the whole network together on a 390×844 phone, with legible labels', async () => {
    const phone = await browser.newPage({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    phone.on('pageerror', (error) => errors.push(`phone: ${error.message}`));
    await phone.goto(site.url);
    await phone.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    await phone.getByTestId('pad').focus();
    await phone.keyboard.press('3');
    await phone.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    await phone.screenshot({ path: join(artefacts, 'web-phone.png') });
    expect(await phone.evaluate(() => window.scrollY)).toBe(0);
    const inView = (box: { x: number; y: number; width: number; height: number } | null) =>
      box !== null &&
      box.x >= 0 &&
      box.y >= 0 &&
      box.x + box.width <= 390 &&
      box.y + box.height <= 844;
    for (const id of ['pad', 'prediction', 'network']) {
      const box = await phone.getByTestId(id).boundingBox();
      expect(inView(box), `${id} ${JSON.stringify(box)}`).toBe(true);
    }
    const pad = (await phone.getByTestId('pad').boundingBox())!;
    expect(pad.width).toBeGreaterThanOrEqual(160);
    // Every layer's first and last neuron is drawn on screen: input, both hidden layers, output.
    const sizes = [784, 16, 16, 10];
    for (const [layer, n] of sizes.entries()) {
      for (const index of [0, n - 1]) {
        const centre = await phone.evaluate(
          ([l, i]) => window.__neurite!.neuronCentre(l!, i!),
          [layer, index],
        );
        expect(inView(centre && { ...centre, width: 0, height: 0 }), `${layer}:${index}`).toBe(
          true,
        );
      }
    }
    const network = phone.getByTestId('network');
    await expect(network.getAttribute('data-layout')).resolves.toBe('narrow');
    expect(Number(await network.getAttribute('data-smallest-text'))).toBeGreaterThanOrEqual(10.5);
    expect(await phone.evaluate(() => window.__neurite!.snapshot().prediction)).toBe(3);
    await phone.close();
  });

  it('logged no error and fetched nothing from elsewhere', () => {
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    expect(site.requests.filter((p) => !p.startsWith('/assets/'))).toEqual(
      expect.arrayContaining(['/', '/models/modern.safetensors', '/models/classic.safetensors']),
    );
  });
});
