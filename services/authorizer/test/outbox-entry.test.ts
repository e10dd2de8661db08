import { describe, expect, it } from 'vitest';
import { idAndType } from '../src/outbox/outbox-relay.ts';

describe('reading an outbox entry', () => {
  it("takes the id and type from the scripts' prefix without parsing the rest", () => {
    const text =
      '{"event_id":"jit-1:authorization.approved","type":"authorization.approved","amount_minor":5}';
    expect(idAndType(text)).toEqual({
      event_id: 'jit-1:authorization.approved',
      type: 'authorization.approved',
    });
  });

  it("parses the whole text when the prefix is not the scripts' own, and refuses what is not an event", () => {
    // Another key order, or an escaped character in the id: the parse decides.
    expect(idAndType('{"type":"t.x","event_id":"e-2"}')).toEqual({ event_id: 'e-2', type: 't.x' });
    expect(idAndType('{"event_id":"a\\\\/b","type":"t.y","n":1}')).toEqual({
      event_id: 'a\\/b',
      type: 't.y',
    });
    expect(idAndType('{"event_id":"e-3"}')).toBeUndefined();
    expect(idAndType('{"event_id":"e-4","type":7}')).toBeUndefined();
    expect(idAndType('not json')).toBeUndefined();
  });
});
