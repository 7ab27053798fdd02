export * from './version.js';
export * from './records.js';
export * from './messages.js';
