/**
 * Where webhooks may be sent (SSRF protection). An endpoint's URL must be http(s), carry no
 * credentials, and resolve only to public addresses: loopback, private, link-local, carrier-grade
 * NAT, documentation, multicast and reserved ranges are refused unless WEBHOOK_ALLOWED_TARGETS names
 * them (an address, a CIDR range, or a host name whose addresses are then all accepted).
 *
 * The check is on the resolved addresses, not the host name, and it is made again on every
 * delivery: the HTTP client connects through `lookup` below, which resolves, drops refused
 * addresses and hands the socket exactly an address it checked (a DNS answer that changes between
 * the check and the connection — DNS rebinding — cannot slip a private address in).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, isIPv4 } from 'node:net';

const REFUSED_V4 = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const;

const REFUSED_V6 = [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const;

const refused = new BlockList();
for (const [net, prefix] of REFUSED_V4) refused.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of REFUSED_V6) refused.addSubnet(net, prefix, 'ipv6');

export type TargetCheck = { ok: true; url: URL; addresses: string[] } | { ok: false; problem: string };

export type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type LookupFunction = (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback) => void;

export interface TargetPolicy {
  /** Whether a URL may receive webhooks now (its host resolved and every address accepted). */
  check(url: string): Promise<TargetCheck>;
  /** dns.lookup for the HTTP client: only accepted addresses; an error when there are none. */
  lookup: LookupFunction;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d or ::ffff:xxxx:xxxx) as the IPv4 address it names. */
function unmapped(address: string): string {
  const lower = address.toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower) ?? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const high = Number.parseInt(hex[1], 16);
    const low = Number.parseInt(hex[2], 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return address;
}

export function isRefusedAddress(address: string): boolean {
  const plain = unmapped(address);
  return refused.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
}

/** Parses WEBHOOK_ALLOWED_TARGETS entries: addresses, CIDR ranges, host names. */
function allowListOf(entries: readonly string[]) {
  const addresses = new BlockList();
  const hosts = new Set<string>();
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    const [net, prefix] = entry.split('/');
    const family = isIP(net);
    if (family && prefix !== undefined) addresses.addSubnet(net, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
    else if (family) addresses.addAddress(net, family === 4 ? 'ipv4' : 'ipv6');
    else hosts.add(entry);
  }
  return {
    allows(hostname: string, address: string): boolean {
      if (hosts.has(hostname.toLowerCase())) return true;
      const plain = unmapped(address);
      return addresses.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
    },
  };
}

const MAX_URL_LENGTH = 2000;

export function createTargetPolicy(allowedTargets: readonly string[], resolve: typeof dnsLookup = dnsLookup): TargetPolicy {
  const allowList = allowListOf(allowedTargets);
  const accepted = (hostname: string, address: string) => !isRefusedAddress(address) || allowList.allows(hostname, address);

  const resolveAll = (hostname: string): Promise<LookupAddress[]> => {
    const literal = hostname.replace(/^\[|\]$/g, '');
    const family = isIP(literal);
    if (family) return Promise.resolve([{ address: literal, family }]);
    return new Promise((done, fail) => resolve(literal, { all: true, verbatim: true }, (error, list) => (error ? fail(error) : done(list))));
  };

  return {
    async check(text) {
      if (text.length > MAX_URL_LENGTH) return { ok: false, problem: `is longer than ${MAX_URL_LENGTH} characters` };
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return { ok: false, problem: 'is not a URL' };
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, problem: 'must be an http or https URL' };
      if (url.username || url.password) return { ok: false, problem: 'must not carry credentials (the signature authenticates the sender)' };
      if (!url.hostname) return { ok: false, problem: 'has no host' };
      let addresses: LookupAddress[];
      try {
        addresses = await resolveAll(url.hostname);
      } catch (error) {
        return { ok: false, problem: `host ${url.hostname} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
      }
      const bad = addresses.filter((a) => !accepted(url.hostname, a.address));
      if (addresses.length === 0) return { ok: false, problem: `host ${url.hostname} has no address` };
      if (bad.length > 0) {
        return {
          ok: false,
          problem: `resolves to ${bad[0].address}, a private, loopback, link-local or reserved address; the server's WEBHOOK_ALLOWED_TARGETS must name it to allow it`,
        };
      }
      return { ok: true, url, addresses: addresses.map((a) => a.address) };
    },

    lookup(hostname, options, callback) {
      resolveAll(hostname).then(
        (addresses) => {
          const usable = addresses.filter(
            (a) => accepted(hostname, a.address) && (!options.family || options.family === a.family || options.family === `IPv${a.family}`),
          );
          if (usable.length === 0) {
            const error: NodeJS.ErrnoException = new Error(`webhook target ${hostname} refused: it resolves only to addresses that are not allowed`);
            error.code = 'ETARGETREFUSED';
            return callback(error, '');
          }
          if (options.all) callback(null, usable);
          else callback(null, usable[0].address, usable[0].family);
        },
        (error) => callback(error as NodeJS.ErrnoException, ''),
      );
    },
  };
}
