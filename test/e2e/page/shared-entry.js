// What Grafana shares with plugins, from the packages' own npm builds: the page's AMD loader hands
// these to dist/module.js by name, as Grafana's SystemJS does.
import * as React from 'react';
import * as ReactDOM from 'react-dom';
import * as ReactDOMClient from 'react-dom/client';
import * as rxjs from 'rxjs';
import * as grafanaData from '@grafana/data';
import * as grafanaUi from '@grafana/ui';
import * as grafanaRuntime from '@grafana/runtime';

window.__grafanaShared = {
  react: React,
  'react-dom': ReactDOM,
  rxjs,
  '@grafana/data': grafanaData,
  '@grafana/ui': grafanaUi,
  '@grafana/runtime': grafanaRuntime,
};
window.__reactDomClient = ReactDOMClient;
