// Run inside a test namespace (`ip netns exec NS node --import tsx THIS`): starts the flow collector
// with no interface flag, prints its health as JSON and stops.
import { startFlowCollector } from '../../src/collector/flow-collector.js';

const collector = await startFlowCollector({});
try {
  console.log(JSON.stringify(collector.health()));
} finally {
  await collector.close();
}
