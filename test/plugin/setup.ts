// The plugin suite's environment: Testing Library's DOM matchers and cleanup, and the browser APIs jsdom lacks
// that @grafana/ui calls (uPlot reads matchMedia at import time; Select's menu observes layout).
import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

// Without vitest globals Testing Library cannot register its own cleanup.
afterEach(cleanup);

if (!window.matchMedia) {
  window.matchMedia = (query: string): MediaQueryList =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }) as MediaQueryList;
}

// Select's menu watches its own visibility; jsdom lays nothing out, so there is nothing to report.
class NoLayoutObserver {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
  takeRecords(): [] {
    return [];
  }
}
globalThis.IntersectionObserver ??= NoLayoutObserver as unknown as typeof IntersectionObserver;
globalThis.ResizeObserver ??= NoLayoutObserver as unknown as typeof ResizeObserver;
