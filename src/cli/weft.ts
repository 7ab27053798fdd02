#!/usr/bin/env node
// `weft`: the terminal client. links and flows print the tables once; watch follows them live.
import { Command, Option } from 'commander';
import { defaultTokenPath } from '../collector/token.js';
import { list, watch, type CommonOptions } from './commands.js';
import type { TableName } from '../protocol/index.js';

function common(cmd: Command): Command {
  return cmd
    .addOption(new Option('--server <url>', 'collector address').env('WEFT_SERVER').default('ws://127.0.0.1:7317'))
    .addOption(new Option('--token-file <path>', 'file holding the collector token').env('WEFT_TOKEN_FILE').default(defaultTokenPath()))
    .option('--json', 'print the records as JSON instead of a table')
    .option('--aggregate <level>', 'group at endpoint, process, netns, pod, workload, namespace or node')
    .option('--top <n>', 'only the N records that moved the most bytes')
    .option('--namespace <ns>', 'only records with an end in this Kubernetes namespace')
    .option('--kind <kind>', 'only records with an end of this kind (pod, process, external, …)')
    .option('--port <port>', 'only this server port (links) or either port (flows)')
    .option('--protocol <proto>', 'only tcp, udp, …')
    .option('--name <text>', 'only records with an end whose name, process, pod or address contains this');
}

const program = new Command('weft').description('Live links and flows from a weft-collector.').showHelpAfterError();
const run = (p: Promise<void>): void => {
  p.catch((e: Error) => {
    console.error(`weft: ${e.message}`);
    process.exitCode = 1;
  });
};
const out = (s: string): void => void process.stdout.write(`${s}\n`);
// `weft links | head`: the reader has what it wanted, so stop without a word (as a SIGPIPE would).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(0);
});

common(program.command('links').description('links: who talks to whom, with exact bytes'))
  .option('--from <time>', 'bytes moved since (now, -5m, epoch ms, ISO date), from the history window')
  .option('--to <time>', 'end of that range (default now)')
  .action((o: CommonOptions) => run(list('links', o, out)));
common(program.command('flows').description('flows: what each interface saw per 5-tuple'))
  .option('--interface <name>', 'only this interface')
  .option('--from <time>', 'bytes moved since (now, -5m, epoch ms, ISO date), from the history window')
  .option('--to <time>', 'end of that range (default now)')
  .action((o: CommonOptions) => run(list('flows', o, out)));
common(program.command('watch').description('follow changes live, one line each (+ new, ~ changed, - gone)'))
  .argument('[table]', 'links or flows', 'links')
  .option('--interface <name>', 'flows only: this interface')
  .action((table: string, o: CommonOptions) => {
    if (table !== 'links' && table !== 'flows') {
      console.error(`weft: watch links or watch flows, not "${table}"`);
      process.exitCode = 2;
      return;
    }
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    run(watch(table as TableName, o, out, stop.signal));
  });

program.parse(process.argv);
