import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerNameservers, hostnameFile, hostsFile, parseAddHost, parseResolvConf, resolvConf, type ExtraHost, type ResolvInput } from '../../../src/engine/network/files.ts';

describe('parseAddHost', () => {
  const cases: [string, string | undefined, ExtraHost | RegExp][] = [
    ['db:10.0.0.5', undefined, { name: 'db', address: '10.0.0.5' }],
    ['db=10.0.0.5', undefined, { name: 'db', address: '10.0.0.5' }],
    ['v6:::1', undefined, { name: 'v6', address: '::1' }],
    ['v6:[2001:db8::1]', undefined, { name: 'v6', address: '2001:db8::1' }],
    ['v6=2001:db8::1', undefined, { name: 'v6', address: '2001:db8::1' }],
    ['host.docker.internal:host-gateway', '192.0.2.1', { name: 'host.docker.internal', address: '192.0.2.1' }],
    ['h:host-gateway', undefined, /this network mode has no address for the host/],
    ['db', undefined, /expected NAME:IP/],
    [':10.0.0.5', undefined, /expected NAME:IP/],
    ['db:nope', undefined, /"nope" is not an IP address/],
    ['b_d:10.0.0.5', undefined, /"b_d" is not a host name/],
  ];
  for (const [value, gateway, expected] of cases) {
    it(value, () => {
      if (expected instanceof RegExp) assert.throws(() => parseAddHost(value, gateway), expected);
      else assert.deepEqual(parseAddHost(value, gateway), expected);
    });
  }
});

const DEFAULTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

describe('hostsFile', () => {
  const cases: [string, Parameters<typeof hostsFile>[0], string][] = [
    ['own address, name alias, extra hosts', { hostname: 'abc123', name: 'web', addresses: ['192.0.2.2'], extraHosts: [{ name: 'db', address: '10.0.0.5' }] },
      `${DEFAULTS}10.0.0.5\tdb\n192.0.2.2\tabc123 web\n`],
    ['two addresses', { hostname: 'h', addresses: ['192.0.2.2', 'fd00::2'], extraHosts: [] }, `${DEFAULTS}192.0.2.2\th\nfd00::2\th\n`],
    ['no network: the hostname on 127.0.0.1', { hostname: 'h', name: 'h', addresses: [], extraHosts: [] }, `${DEFAULTS}127.0.0.1\th\n`],
    ['host network: the host\'s file plus extra hosts', { hostname: 'h', addresses: [], extraHosts: [{ name: 'x', address: '10.1.1.1' }], hostHosts: '127.0.0.1 localhost\n127.0.1.1 server' },
      '127.0.0.1 localhost\n127.0.1.1 server\n10.1.1.1\tx\n'],
    ['host network, empty host file', { hostname: 'h', addresses: [], extraHosts: [], hostHosts: '' }, ''],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.equal(hostsFile(input), expected));
});

describe('hostnameFile', () => {
  it('is the name and a newline', () => assert.equal(hostnameFile('box'), 'box\n'));
});

describe('parseResolvConf', () => {
  it('reads nameservers, the last search/domain, all options; skips comments', () => {
    const text = '# generated\nnameserver 127.0.0.53 # local\nnameserver 10.0.0.1\ndomain corp\nsearch a.example b.example\noptions ndots:2\noptions edns0 trust-ad\n;x\n';
    assert.deepEqual(parseResolvConf(text), { nameservers: ['127.0.0.53', '10.0.0.1'], search: ['a.example', 'b.example'], options: ['ndots:2', 'edns0', 'trust-ad'] });
  });
});

describe('containerNameservers', () => {
  const cases: [string, string[], string | undefined, boolean, string[]][] = [
    ['public ones are kept', ['10.0.0.1', '1.1.1.1'], '169.254.1.1', false, ['10.0.0.1', '1.1.1.1']],
    ['systemd-resolved becomes the forwarder', ['127.0.0.53'], '169.254.1.1', false, ['169.254.1.1']],
    ['loopbacks become one forwarder, in place', ['10.0.0.1', '127.0.0.1', '::1', '10.0.0.2'], '169.254.1.1', true, ['10.0.0.1', '169.254.1.1', '10.0.0.2']],
    ['loopback without a forwarder: docker\'s defaults', ['127.0.0.53'], undefined, false, ['8.8.8.8', '8.8.4.4']],
    ['loopback without a forwarder, IPv6: with Google\'s IPv6 pair', ['127.0.0.53'], undefined, true, ['8.8.8.8', '8.8.4.4', '2001:4860:4860::8888', '2001:4860:4860::8844']],
    ['IPv6 dropped without IPv6', ['2001:db8::53', '10.0.0.1'], undefined, false, ['10.0.0.1']],
    ['IPv6 kept with IPv6', ['2001:db8::53'], undefined, true, ['2001:db8::53']],
    ['a zone id is kept with its address', ['fe80::1%eth0'], undefined, true, ['fe80::1%eth0']],
    ['no nameserver at all', [], '169.254.1.1', false, ['8.8.8.8', '8.8.4.4']],
    ['garbage is dropped', ['not-an-ip', '10.0.0.1'], undefined, false, ['10.0.0.1']],
  ];
  for (const [name, host, forwarder, ipv6, expected] of cases) it(name, () => assert.deepEqual(containerNameservers(host, forwarder, ipv6), expected));
});

describe('resolvConf', () => {
  const host = 'nameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n';
  const cases: [string, ResolvInput, string | RegExp][] = [
    ['pasta: the forwarder, host search and options', { hostResolv: host, forwarder: '169.254.1.1', ipv6: false },
      'search corp.example\nnameserver 169.254.1.1\noptions edns0 trust-ad\n'],
    ['--dns, --dns-search, --dns-option override', { hostResolv: host, forwarder: '169.254.1.1', ipv6: false, dns: ['9.9.9.9'], dnsSearch: ['a.test'], dnsOptions: ['ndots:1'] },
      'search a.test\nnameserver 9.9.9.9\noptions ndots:1\n'],
    ['--dns-search . empties the search list', { hostResolv: host, forwarder: '169.254.1.1', ipv6: false, dnsSearch: ['.'] },
      'nameserver 169.254.1.1\noptions edns0 trust-ad\n'],
    ['none: no forwarder, docker defaults', { hostResolv: host, ipv6: false }, 'search corp.example\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0 trust-ad\n'],
    ['host network: the host file as it is', { hostResolv: '# mine\nnameserver 127.0.0.53\n', hostNetwork: true, ipv6: true }, '# mine\nnameserver 127.0.0.53\n'],
    ['host network with --dns', { hostResolv: host, hostNetwork: true, ipv6: true, dns: ['10.1.1.1'] }, 'search corp.example\nnameserver 10.1.1.1\noptions edns0 trust-ad\n'],
    ['host network with --dns-option keeps the host nameservers', { hostResolv: host, hostNetwork: true, ipv6: true, dnsOptions: ['ndots:3'] }, 'search corp.example\nnameserver 127.0.0.53\noptions ndots:3\n'],
    ['an empty host file', { hostResolv: '', forwarder: '169.254.1.1', ipv6: false }, 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n'],
    ['a bad --dns', { hostResolv: host, ipv6: false, dns: ['dns.example'] }, /invalid --dns "dns.example": not an IP address/],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      if (expected instanceof RegExp) assert.throws(() => resolvConf(input), expected);
      else assert.equal(resolvConf(input), expected);
    });
  }
});
