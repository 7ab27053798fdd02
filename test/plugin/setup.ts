// The plugin suite's environment: Testing Library's DOM matchers, and the browser APIs jsdom lacks
// that @grafana/ui's dependencies call while loading (uPlot reads matchMedia at import time).
import '@testing-library/jest-dom/vitest';

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
