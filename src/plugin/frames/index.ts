export { linksToGraph, MAX_NODES, OTHER_NODE, type GraphFrames, type GraphOptions } from './graph.js';
export { flowsToTable, tcpFlagNames, type FlowTableOptions } from './flows.js';
export { frameSignature } from './signature.js';
export { statusToFrame } from './status.js';
export type { ExploreTarget } from './explore-links.js';
