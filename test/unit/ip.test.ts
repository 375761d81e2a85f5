import { describe, expect, it } from 'vitest';
import { canonicalIp, canonicalIPv6, isIPv4, nonPublicReason } from '../../src/model/ip.js';

describe('IP addresses', () => {
  it.each([
    ['2001:0DB8:0:0::1', '2001:db8::1'], ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['::', '::'], ['::1', '::1'],
    ['fe80::', 'fe80::'], ['2001:db8::0:1', '2001:db8::1'], ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
  ])('canonical IPv6 of %s is %s', (raw, want) => {
    expect(canonicalIPv6(raw)).toBe(want);
  });

  it.each(['1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '12345::', '1.2.3.4', '::1.2.3', 'fe80::1%eth0', ''])('%j is not IPv6', (raw) => {
    expect(canonicalIPv6(raw)).toBeNull();
  });

  it.each([['1.2.3.4', true], ['255.255.255.255', true], ['256.1.1.1', false], ['01.2.3.4', false], ['1.2.3', false], [' 1.2.3.4', false]])(
    'isIPv4(%j) = %s', (raw, ok) => expect(isIPv4(raw)).toBe(ok));

  it.each([
    ['10.1.2.3', '10.0.0.0/8'], ['172.31.255.255', '172.16.0.0/12'], ['192.168.0.1', '192.168.0.0/16'], ['127.0.0.1', '127.0.0.0/8'],
    ['169.254.1.1', '169.254.0.0/16'], ['100.127.0.1', '100.64.0.0/10'], ['224.0.0.1', '224.0.0.0/4'], ['0.1.2.3', '0.0.0.0/8'],
    ['fd00::1', 'unique local'], ['fe80::1', 'link-local'], ['ff02::1', 'multicast'], ['::1', 'loopback'],
  ])('%s is not public (%s)', (raw, why) => {
    expect(nonPublicReason(canonicalIp(raw)!)).toContain(why);
  });

  it.each(['8.8.8.8', '172.32.0.1', '203.0.113.5', '2001:db8::1', '2606:4700::1111'])('%s may be published', (raw) => {
    expect(nonPublicReason(canonicalIp(raw)!)).toBeNull();
  });
});
