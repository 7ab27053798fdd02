// V8 starts allocating an allocation site's objects straight in the old generation once most of
// them have survived a collection (pretenuring). The tables build 100,000 records, endpoints and
// map entries that live long, so their sites are pretenured, and the same sites then put every
// short-lived replacement (a poll's strings, a feed's patches, names looked up again) in the old
// generation, where it waits for a full collection. Imported first by each process's entry.
// Measured with 100,000 links all changing, privilege separation: parent RSS 320 → 289 MB and
// CPU a round 648 → 533 ms; server RSS 158 → 145 MB (docs/collector.md, Memory).
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-allocation-site-pretenuring');
