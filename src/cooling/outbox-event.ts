/**
 * An outbox entry of the lifecycle stream as the relay delivers it (pure). The transition
 * (lifecycle-common.lua) stores the event's fields; the webhook body is built here, byte for
 * byte as the Lua built it before (receivers verify signatures over the raw body, and a
 * relay repeated across an upgrade sends an event again). Entries written by that earlier
 * Lua carry the finished body in a `body` field and are delivered as they are.
 */

export interface OutboxEntry {
  readonly eventId: string;
  /** the event type, e.g. `transfer.warned` */
  readonly type: string;
  /** the event as JSON: the webhook body */
  readonly body: string;
}

/** A stream entry's fields: name, value, name, value, ... */
type Fields = readonly string[];

function fieldMap(fields: Fields): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < fields.length - 1; i += 2) map.set(fields[i]!, fields[i + 1]!);
  return map;
}

/**
 * A string as Redis's Lua cjson.encode writes it: JSON.stringify's escapes, plus `/` as `\/`
 * and DEL as `\u007f` (neither appears in an escape sequence JSON.stringify writes).
 */
export function cjsonString(s: string): string {
  return JSON.stringify(s).replace(/[/\x7f]/g, (c) => (c === '/' ? '\\/' : '\\u007f'));
}

/**
 * The entry's delivery, or null for an entry that is not one (deleted after it was read, so
 * without fields, or missing its id). Throws when a field the body needs is missing: a bug in
 * the script that wrote it.
 */
export function decodeOutboxEntry(fields: Fields | null): OutboxEntry | null {
  if (!Array.isArray(fields)) return null;
  const f = fieldMap(fields);
  const eventId = f.get('id');
  if (eventId === undefined) return null;
  const old = f.get('body');
  if (old !== undefined) {
    // written before the relay built bodies: the type field may be absent, the body has it
    return { eventId, type: f.get('type') ?? (JSON.parse(old) as { type: string }).type, body: old };
  }
  const get = (name: string): string => {
    const value = f.get(name);
    if (value === undefined) throw new Error(`outbox entry ${eventId} has no field ${name}`);
    return value;
  };
  /** a string that may be absent ('') */
  const str = (name: string): string => {
    const value = get(name);
    return value === '' ? 'null' : cjsonString(value);
  };
  /** a number as the hash holds it, inserted as it is, or absent ('') */
  const num = (name: string): string => {
    const value = get(name);
    return value === '' ? 'null' : value;
  };
  const type = get('type');
  const body =
    `{"id":"${eventId}","type":"${type}","createdAt":${cjsonString(get('createdAt'))}` +
    `,"transferId":${cjsonString(get('transfer'))},"seq":${get('seq')},"from":${str('from')},"to":"${get('to')}"` +
    `,"actor":${cjsonString(get('actor'))},"reason":${cjsonString(get('reason'))}` +
    `,"payerId":${str('payer')},"payeeId":${str('payee')},"amount":${num('amount')}` +
    `,"currency":${str('currency')},"action":${str('action')},"riskScore":${num('risk')}` +
    `,"segment":${str('segment')},"scamType":${str('scam')},"holdUntil":${str('holdUntil')}}`;
  return { eventId, type, body };
}
