// A frame's content as one string: two frames with the same signature draw the same picture. Used to
// emit a live query's frames only when something the panel shows has changed.
import type { DataFrame } from '@grafana/data';

export function frameSignature(frames: readonly DataFrame[]): string {
  return JSON.stringify(frames.map((f) => [f.name, f.fields.map((x) => [x.name, x.values])]));
}
