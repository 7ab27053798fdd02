// Sentences for what went wrong between the plugin and the collector: what a user sees in a panel's
// error or in Save & test, saying what to fix.
import { CloseCode, PROTOCOL_VERSION, type ErrorMessage } from '../../protocol/index.js';

/** A failure the user must fix first: reconnecting would fail the same way. */
export class CollectorError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
  ) {
    super(message);
    this.name = 'CollectorError';
  }
}

export const UNREACHABLE = 'The collector is unreachable: check the collector URL and that weft-collector is running and listening there.';
export const BAD_TOKEN = 'The collector refused the token (bad token): set the same token in the data source as the collector was started with.';

export function wrongProtocol(theirs: unknown): string {
  return `The collector speaks protocol version ${String(theirs)}, this plugin speaks version ${PROTOCOL_VERSION} (wrong protocol version): upgrade the older of the two.`;
}

/** The sentence for a WebSocket close code, or undefined for an ordinary drop worth retrying. */
export function closeError(code: number, reason: string): CollectorError | undefined {
  switch (code) {
    case CloseCode.Unauthorized:
      return new CollectorError(BAD_TOKEN, true);
    case CloseCode.ForbiddenOrigin:
      return new CollectorError(`The collector refused this page's origin${reason ? ` (${reason})` : ''}: add Grafana's address to the collector's --allowed-origins.`, true);
    case CloseCode.ProtocolVersion:
      return new CollectorError(reason || wrongProtocol('another'), true);
    case CloseCode.Malformed:
      return new CollectorError(`The collector rejected a message from the plugin${reason ? `: ${reason}` : ''}.`, true);
    default:
      return undefined;
  }
}

export function serverError(m: ErrorMessage): CollectorError {
  switch (m.code) {
    case 'unauthorized':
      return new CollectorError(BAD_TOKEN, true);
    case 'protocol-version':
      return new CollectorError(`${m.message} (wrong protocol version): upgrade the older of the plugin and the collector.`, true);
    case 'forbidden-origin':
      return new CollectorError(`The collector refused this page's origin (${m.message}): add Grafana's address to the collector's --allowed-origins.`, true);
    case 'bad-ticket':
      return new CollectorError(`The collector refused the direct-mode ticket (${m.message}).`, false);
    default:
      return new CollectorError(`The collector answered: ${m.message} (${m.code}).`, false);
  }
}
