/**
 * Opens a local HTML file in headless Chromium (driven by puppeteer-core, which
 * downloads no browser) and reports what a reader would see:
 *
 * - `CHROMIUM`: the browser to use, or why there is none. It is decided before
 *   tests are registered, so a spec registers its tests as skipped, with the
 *   reason in their names, where there is no browser. The binary is
 *   `LINEAR_CHROMIUM` when set, else the first of `chromium`,
 *   `chromium-browser`, `google-chrome` on PATH (.ci/run installs Debian's
 *   `chromium` when it can).
 * - `renderPage(file)`: loads the file with every request that is not file:,
 *   data:, blob: or about: blocked and recorded, collects console errors and
 *   warnings, uncaught page errors and failed requests, measures each
 *   `figure.chart` and its `<svg>`, and can save a full-page PNG screenshot.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

/** A Chromium to launch (with its --version line), or why there is none. */
export type ChromiumAvailability = { executable: string; version: string } | { reason: string };

const NAMES = ['chromium', 'chromium-browser', 'google-chrome'];

/**
 * Flags for a container where the tests often run as root: no sandbox (it
 * refuses to start as root), the new headless mode, no GPU, and /tmp rather
 * than a small /dev/shm for shared memory.
 */
export const CHROMIUM_FLAGS = ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'];

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir !== '' && executable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** The --version line of a binary, or why it gave none. */
function versionOf(file: string): { version: string } | { reason: string } {
  const result = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  const line = (result.stdout ?? '').split('\n').find((l) => /\d+\.\d+/.test(l))?.trim();
  if (result.status === 0 && line) return { version: line };
  const why = result.error ? String(result.error.message) : (result.stderr || result.stdout || `exit ${result.status}`).trim().split('\n').slice(-1)[0];
  return { reason: `${file} --version failed (${why})` };
}

function findChromium(): ChromiumAvailability {
  const chosen = process.env.LINEAR_CHROMIUM;
  let file: string | undefined;
  if (chosen !== undefined && chosen !== '') {
    file = chosen.includes(path.sep) ? chosen : onPath(chosen);
    if (file === undefined || !executable(file)) return { reason: `LINEAR_CHROMIUM=${chosen} is not an executable file` };
  } else {
    for (const name of NAMES) {
      file = onPath(name);
      if (file !== undefined) break;
    }
    if (file === undefined) {
      return { reason: `no Chromium: none of ${NAMES.join(', ')} is on PATH and LINEAR_CHROMIUM is not set; install Debian's chromium, as .ci/run does when it can` };
    }
  }
  const version = versionOf(file);
  return 'reason' in version ? version : { executable: file, version: version.version };
}

export const CHROMIUM = findChromium();

/** One `<figure class="chart">` as the page laid it out. */
export interface RenderedChart {
  /** The figure's id, e.g. `chart-coefficients`. */
  id: string;
  /** Whether the figure holds an `<svg>` with at least one element inside it. */
  svg: boolean;
  /** The `<svg>`'s bounding box in CSS pixels (0 when there is none). */
  width: number;
  height: number;
  /** The figcaption's text, trimmed ('' when there is none). */
  caption: string;
}

export interface RenderedPage {
  title: string;
  /** Console messages of type error or warning, as "type: text (url:line)". */
  console: string[];
  /** Uncaught exceptions thrown in the page. */
  pageErrors: string[];
  /** Requests that were not file:, data:, blob: or about:, all blocked: a self-contained page makes none. */
  networkRequests: string[];
  /** file: requests other than the page itself: a self-contained page needs no other local file either. */
  localRequests: string[];
  /** Requests that failed for a reason other than being blocked here, with the reason. */
  failedRequests: string[];
  charts: RenderedChart[];
}

export interface RenderOptions {
  /** Where to save a full-page PNG screenshot (each path gets the same image). */
  screenshot?: string | string[];
  /** Defaults to 1280 x 800. */
  viewport?: { width: number; height: number };
  /** For launch and load; defaults to 60 s. */
  timeoutMs?: number;
}

const LOCAL = /^(data|blob|about):/i;

/** Loads `file` in headless Chromium; throws when there is no Chromium (check `CHROMIUM` first). */
export async function renderPage(file: string, options: RenderOptions = {}): Promise<RenderedPage> {
  if ('reason' in CHROMIUM) throw new Error(CHROMIUM.reason);
  const timeout = options.timeoutMs ?? 60_000;
  const pageUrl = pathToFileURL(path.resolve(file)).href;
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM.executable,
    // puppeteer adds --headless=new for `true` as well; the flag is listed in CHROMIUM_FLAGS so the set is in one place.
    headless: true,
    args: CHROMIUM_FLAGS,
    timeout,
    protocolTimeout: timeout,
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(timeout);
    await page.setViewport(options.viewport ?? { width: 1280, height: 800 });
    const rendered: RenderedPage = { title: '', console: [], pageErrors: [], networkRequests: [], localRequests: [], failedRequests: [], charts: [] };
    const blocked = new Set<string>();

    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const url = request.url();
      if (LOCAL.test(url)) {
        void request.continue();
      } else if (url.startsWith('file:')) {
        if (url.split('#')[0] !== pageUrl) rendered.localRequests.push(`${request.resourceType()} ${url}`);
        void request.continue();
      } else {
        rendered.networkRequests.push(`${request.method()} ${request.resourceType()} ${url}`);
        blocked.add(url);
        void request.abort('blockedbyclient');
      }
    });
    page.on('requestfailed', (request) => {
      if (!blocked.has(request.url())) rendered.failedRequests.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`);
    });
    page.on('console', (message) => {
      const type = message.type();
      if (type !== 'error' && type !== 'warn') return;
      const where = message.location();
      const at = where.url ? ` (${where.url}${where.lineNumber !== undefined ? `:${where.lineNumber + 1}` : ''})` : '';
      rendered.console.push(`${type === 'warn' ? 'warning' : 'error'}: ${message.text()}${at}`);
    });
    page.on('pageerror', (error) => {
      rendered.pageErrors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
    });

    await page.goto(pageUrl, { waitUntil: 'load', timeout });
    // Let fonts settle and two frames pass, so the layout measured is the one painted
    // (a string: the tests compile without the DOM's types).
    await page.evaluate('document.fonts.ready.then(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))');

    rendered.title = await page.title();
    rendered.charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((figure) => {
        const svg = figure.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          id: figure.id,
          svg: svg !== null && svg.childElementCount > 0,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          caption: figure.querySelector('figcaption')?.textContent?.trim() ?? '',
        };
      }),
    );

    const targets = options.screenshot === undefined ? [] : Array.isArray(options.screenshot) ? options.screenshot : [options.screenshot];
    if (targets.length > 0) {
      const png = await page.screenshot({ type: 'png', fullPage: true });
      for (const target of targets) {
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, png);
      }
    }
    return rendered;
  } finally {
    await browser.close();
  }
}
