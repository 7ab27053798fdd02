// Data source settings: where the collector is, how the browser reaches it, and its token (stored
// encrypted by Grafana, added to requests server-side by the plugin.json route).
import type { ChangeEvent } from 'react';
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Alert, InlineField, Input, RadioButtonGroup, SecretInput } from '@grafana/ui';
import type { AccessMode, WeftOptions, WeftSecureOptions } from '../types.js';

export type ConfigEditorProps = DataSourcePluginOptionsEditorProps<WeftOptions, WeftSecureOptions>;

const ACCESS_OPTIONS: Array<{ label: string; value: AccessMode; description: string }> = [
  { label: 'Through Grafana', value: 'proxy', description: "The browser talks to Grafana's data source proxy, which adds the token." },
  { label: 'Direct', value: 'direct', description: 'The browser opens the socket to the collector itself, with a one-time ticket.' },
];

const LABEL_WIDTH = 18;

export function ConfigEditor({ options, onOptionsChange }: ConfigEditorProps) {
  const { jsonData, secureJsonFields, secureJsonData } = options;
  const access = jsonData.access ?? 'proxy';
  // Grafana's own access mode stays "proxy": both of ours fetch status and tickets through it.
  const update = (patch: Partial<typeof options>) => onOptionsChange({ ...options, access: 'proxy', ...patch });
  const setJson = (patch: Partial<WeftOptions>) => update({ jsonData: { ...jsonData, ...patch } });
  const pageIsHttps = window.origin.startsWith('https:');

  return (
    <>
      <InlineField label="Collector URL" labelWidth={LABEL_WIDTH} tooltip="The collector's address as Grafana's server reaches it, e.g. http://weft-collector:7070" required>
        <Input
          id="weft-collector-url"
          width={48}
          value={options.url}
          placeholder="http://weft-collector:7070"
          onChange={(e: ChangeEvent<HTMLInputElement>) => update({ url: e.currentTarget.value })}
        />
      </InlineField>
      <InlineField label="Access" labelWidth={LABEL_WIDTH} tooltip="How the browser's WebSocket reaches the collector.">
        <RadioButtonGroup<AccessMode> options={ACCESS_OPTIONS} value={access} onChange={(v) => setJson({ access: v })} />
      </InlineField>
      {access === 'direct' && (
        <InlineField label="Direct URL" labelWidth={LABEL_WIDTH} tooltip="The collector's address as browsers reach it, e.g. wss://weft.example.com:7070" required>
          <Input
            id="weft-direct-url"
            width={48}
            value={jsonData.directUrl ?? ''}
            placeholder="wss://weft.example.com:7070"
            onChange={(e: ChangeEvent<HTMLInputElement>) => setJson({ directUrl: e.currentTarget.value })}
          />
        </InlineField>
      )}
      {access === 'direct' && pageIsHttps && (jsonData.directUrl ?? '').startsWith('ws:') && (
        <Alert severity="warning" title="Use wss://">
          Grafana is served over https, so browsers will only open a wss:// socket to the collector.
        </Alert>
      )}
      <InlineField label="Token" labelWidth={LABEL_WIDTH} tooltip="The collector's bearer token (weft-collector --token-file). Never sent to browsers.">
        <SecretInput
          id="weft-token"
          width={48}
          isConfigured={secureJsonFields?.token ?? false}
          value={secureJsonData?.token ?? ''}
          placeholder="collector token"
          onReset={() =>
            update({ secureJsonFields: { ...secureJsonFields, token: false }, secureJsonData: { ...secureJsonData, token: '' } })
          }
          onChange={(e: ChangeEvent<HTMLInputElement>) => update({ secureJsonData: { ...secureJsonData, token: e.currentTarget.value } })}
        />
      </InlineField>
    </>
  );
}
