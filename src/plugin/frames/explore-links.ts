// Data links from the graph to Explore: the flows behind a node or an edge, as a flows query
// filtered to that endpoint or pair. Grafana fills ${__data.fields.*} from the clicked row.
import type { DataLink } from '@grafana/data';
import type { AggregationLevel } from '../../protocol/index.js';
import type { WeftQuery } from '../types.js';

export interface ExploreTarget {
  uid: string;
  name: string;
}

function flowsLink(title: string, target: ExploreTarget, level: AggregationLevel, filter: WeftQuery['filter']): DataLink<WeftQuery> {
  return {
    title,
    url: '',
    internal: {
      datasourceUid: target.uid,
      datasourceName: target.name,
      query: { refId: 'A', table: 'flows', aggregate: level, filter, top: 500, mainstat: 'bytes', live: false },
    },
  };
}

export function nodeFlowsLink(target: ExploreTarget, level: AggregationLevel): DataLink<WeftQuery> {
  return flowsLink('Flows of this node', target, level, { endpoint: '${__data.fields.id}' });
}

export function edgeFlowsLink(target: ExploreTarget, level: AggregationLevel): DataLink<WeftQuery> {
  return flowsLink('Flows between these nodes', target, level, { endpoint: '${__data.fields.source}', peer: '${__data.fields.target}' });
}
