// The plugin's entry: Grafana loads dist/module.js and takes its `plugin` export.
import { DataSourcePlugin } from '@grafana/data';
import { ConfigEditor } from './components/ConfigEditor.js';
import { QueryEditor } from './components/QueryEditor.js';
import { WeftDataSource } from './datasource.js';
import type { WeftOptions, WeftQuery, WeftSecureOptions } from './types.js';

export const plugin = new DataSourcePlugin<WeftDataSource, WeftQuery, WeftOptions, WeftSecureOptions>(WeftDataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
