// Records travel and are kept in id order, so equal contents give equal output on every side.

export const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Whether the records are in id order already. */
export function inIdOrder(rs: readonly { id: string }[]): boolean {
  for (let i = 1; i < rs.length; i++) if (rs[i - 1]!.id > rs[i]!.id) return false;
  return true;
}

/** Sorted by id in place; input already in order (the usual case) costs one pass. */
export function sortedById<R extends { id: string }>(rs: R[]): R[] {
  return inIdOrder(rs) ? rs : rs.sort(byId);
}
