// Which network namespace a path (/run/netns/NAME, /proc/PID/ns/net) names now, if any. After
// `ip netns del` the path is gone; a namespace made again under the same name is another one, with
// another inode. While `ip netns add` runs, the path is a plain file not yet bound to a namespace.
import { stat } from 'node:fs/promises';

/** Every namespace file lives on the one nsfs filesystem: its device tells them from plain files. */
let nsfsDev: Promise<number | undefined> | undefined;

/** The namespace's inode, or undefined when the path names none. */
export async function netnsIdentity(path: string): Promise<number | undefined> {
  nsfsDev ??= stat('/proc/self/ns/net').then(
    (s) => s.dev,
    () => undefined,
  );
  const dev = await nsfsDev;
  try {
    const s = await stat(path);
    return dev === undefined || s.dev === dev ? s.ino : undefined;
  } catch {
    return undefined;
  }
}
