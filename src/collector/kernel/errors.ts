// Errors with the errno/code fields of KernelError, for failures found on the TypeScript side.
import type { KernelError } from './types.js';

export function kernelError(message: string, fields: { errno?: number; code?: string } = {}): KernelError {
  const e = new Error(message) as KernelError;
  if (fields.errno !== undefined) e.errno = fields.errno;
  if (fields.code !== undefined) e.code = fields.code;
  return e;
}
