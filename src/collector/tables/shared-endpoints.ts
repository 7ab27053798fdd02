// Links to one server share its endpoint object: the clients of one service would otherwise each
// hold an equal copy (an object and its strings, about 100 bytes a link). Kept for one naming
// period (NAMES_FOR_MS), in which the resolver's answer for the same facts stays the same: a link
// named in the period takes the object the period holds for those facts while it is equal.
import type { Endpoint } from '../../protocol/index.js';
import { sameJson } from '../../protocol/same-json.js';
import { NAMES_FOR_MS } from './names-age.js';

export class SharedEndpoints {
  private byFacts = new Map<string, Endpoint>();
  private since = -Infinity;

  /**
   * The endpoint a link should hold for `facts` (a key of what was asked of the resolver), given
   * what it answered now and what the link holds: the period's object while equal, else the
   * link's own while equal (kept for the period), else the answer.
   */
  share(facts: string, answer: Endpoint, held: Endpoint | undefined, nowMs: number): Endpoint {
    if (nowMs - this.since >= NAMES_FOR_MS) {
      this.byFacts = new Map();
      this.since = nowMs;
    }
    const shared = this.byFacts.get(facts);
    if (shared && (shared === answer || sameJson(shared, answer))) return shared;
    const e = held && sameJson(held, answer) ? held : answer;
    this.byFacts.set(facts, e);
    return e;
  }
}
