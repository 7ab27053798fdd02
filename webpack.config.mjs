// Builds the Grafana data source plugin into dist/ the way @grafana/create-plugin projects do: one
// AMD module.js with Grafana's shared packages left external (Grafana supplies them at load time),
// plus plugin.json, the logo, README and CHANGELOG.
import CopyWebpackPlugin from 'copy-webpack-plugin';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
const src = resolve(root, 'src/plugin');

// What Grafana shares with plugins; never bundled.
const externals = [
  'react',
  'react-dom',
  'rxjs',
  'lodash',
  'moment',
  '@emotion/css',
  '@emotion/react',
  /^@grafana\/data/,
  /^@grafana\/ui/,
  /^@grafana\/runtime/,
  /^@grafana\/schema/,
  /^rxjs\//,
];

export default (_env, argv) => ({
  mode: argv.mode ?? 'production',
  context: root,
  entry: { module: resolve(src, 'module.ts') },
  devtool: 'source-map',
  output: {
    path: resolve(root, 'dist'),
    filename: '[name].js',
    library: { type: 'amd' },
    publicPath: 'public/plugins/weft-topology-datasource/',
    uniqueName: 'weft-topology-datasource',
    clean: true,
  },
  externals,
  resolve: {
    extensions: ['.ts', '.tsx', '.js'],
    // Sources import each other with .js suffixes (ES module style); the files are .ts/.tsx.
    extensionAlias: { '.js': ['.ts', '.tsx', '.js'] },
  },
  module: {
    rules: [
      {
        test: /\.tsx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'ts-loader',
          options: {
            configFile: resolve(root, 'tsconfig.plugin.json'),
            transpileOnly: true,
          },
        },
      },
    ],
  },
  plugins: [
    new CopyWebpackPlugin({
      patterns: [
        {
          from: resolve(src, 'plugin.json'),
          to: 'plugin.json',
          transform: (content) =>
            content
              .toString()
              .replace('%VERSION%', pkg.version)
              .replace('%TODAY%', new Date().toISOString().slice(0, 10)),
        },
        { from: resolve(src, 'img'), to: 'img' },
        { from: resolve(src, 'README.md'), to: 'README.md' },
        { from: resolve(src, 'CHANGELOG.md'), to: 'CHANGELOG.md' },
      ],
    }),
  ],
  performance: { hints: false },
});
