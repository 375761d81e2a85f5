import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { AUTHORITATIVE_ANSWER, RECURSION_DESIRED, decode, encode, type Answer, type DecodedPacket } from 'dns-packet';
import type { DnsRecordView } from './types.js';

/** The zone a host name falls in and the records with exactly that name; undefined outside every zone. */
export type HostLookup = (host: string) => { zone: string; records: DnsRecordView[] } | undefined;

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, REFUSED: 5 } as const;
/** What Cloudflare's name servers answer for records with an automatic TTL. */
const AUTOMATIC_TTL = 300;

function soa(zone: string): Answer {
  return {
    type: 'SOA',
    name: zone,
    ttl: 1800,
    class: 'IN',
    data: {
      mname: 'ada.ns.cloudflare.com',
      rname: 'dns.cloudflare.com',
      serial: 2_000_000_000,
      refresh: 10000,
      retry: 2400,
      expire: 604800,
      minimum: 1800,
    },
  };
}

/** Builds the reply to one query packet; undefined for packets that are not queries. */
export function reply(query: Buffer, lookup: HostLookup): Buffer | undefined {
  let packet: DecodedPacket;
  try {
    packet = decode(query);
  } catch {
    return undefined;
  }
  if (packet.type !== 'query') return undefined;
  const rd = (packet.flags ?? 0) & RECURSION_DESIRED;
  const respond = (rcode: number, answers: Answer[] = [], authorities: Answer[] = []): Buffer =>
    encode({
      type: 'response',
      id: packet.id,
      flags: rd | rcode | (rcode === RCODE.REFUSED ? 0 : AUTHORITATIVE_ANSWER),
      questions: packet.questions,
      answers,
      authorities,
    });

  const question = packet.questions?.[0];
  if (!question) return respond(RCODE.FORMERR);
  const host = question.name.toLowerCase().replace(/\.$/, '');
  const found = lookup(host);
  if (!found) return respond(RCODE.REFUSED);
  if (found.records.length === 0) return respond(RCODE.NXDOMAIN, [], [soa(found.zone)]);
  const answers: Answer[] = found.records
    .filter((r) => r.type === question.type && (r.type === 'A' || r.type === 'AAAA'))
    .map((r) => ({
      type: r.type as 'A' | 'AAAA',
      name: question.name,
      ttl: r.ttl === 1 ? AUTOMATIC_TTL : r.ttl,
      class: 'IN',
      data: r.content,
    }));
  return respond(RCODE.NOERROR, answers, answers.length > 0 ? [] : [soa(found.zone)]);
}

/** An authoritative UDP DNS server for the simulator's zones (A and AAAA answers). */
export class DnsServer {
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static start(host: string, port: number, lookup: HostLookup): Promise<DnsServer> {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    socket.on('message', (msg, peer) => {
      const answer = reply(msg, lookup);
      if (answer) socket.send(answer, peer.port, peer.address);
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        // A failed send (say, to a client that is gone) must not crash the process.
        socket.on('error', () => undefined);
        resolve(new DnsServer(socket, socket.address().port));
      });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
