/** Bumped on any incompatible change to the messages in ./messages.ts. */
export const PROTOCOL_VERSION = 1;

/** The WebSocket path on the collector. */
export const WS_PATH = '/ws';
