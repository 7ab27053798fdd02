// How long the tables keep the names the resolver gave an endpoint.

/**
 * How old an endpoint's names may get before a read of a table asks the resolver again: it learns
 * names (DNS, Kubernetes) on its own schedule, and naming every endpoint at every read cost about
 * 130 ms a read at 100,000 links.
 */
export const NAMES_FOR_MS = 5_000;
