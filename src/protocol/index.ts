export * from './version.js';
export * from './records.js';
export * from './messages.js';
export * from './endpoint-id.js';
export * from './server-message.js';
export * from './message-check.js';
export * from './record-order.js';
