import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseNetwork, type NetworkChoice, type NetworkTools } from '../../../src/engine/network/mode.ts';
import { pastaHookArgv, pastaPortSpec } from '../../../src/engine/network/pasta.ts';
import type { PortMapping } from '../../../src/engine/network/ports.ts';
import { slirpHookArgv } from '../../../src/engine/network/slirp4netns.ts';

const both: NetworkTools = { pasta: '/usr/bin/pasta', slirp4netns: '/usr/bin/slirp4netns', tunUsable: true };

describe('chooseNetwork', () => {
  const cases: [string, string | undefined, NetworkTools, NetworkChoice | RegExp][] = [
    ['default: pasta', undefined, both, { mode: 'pasta', program: '/usr/bin/pasta' }],
    ['default without pasta: slirp4netns', undefined, { slirp4netns: '/usr/bin/slirp4netns', tunUsable: true }, { mode: 'slirp4netns', program: '/usr/bin/slirp4netns' }],
    ['bridge means the default', 'bridge', both, { mode: 'pasta', program: '/usr/bin/pasta' }],
    ['host', 'host', { tunUsable: false }, { mode: 'host' }],
    ['none', 'none', both, { mode: 'none' }],
    ['slirp4netns asked for', 'slirp4netns', both, { mode: 'slirp4netns', program: '/usr/bin/slirp4netns' }],
    ['pasta asked for but missing', 'pasta', { slirp4netns: '/x', tunUsable: true }, /--network pasta: pasta is not installed/],
    ['pasta without tun', 'pasta', { ...both, tunUsable: false }, /needs \/dev\/net\/tun/],
    ['unknown', 'macvlan', both, /--network macvlan is not supported/],
    ['container:ID', 'container:abc', both, /--network container:abc is not supported/],
  ];
  for (const [name, requested, tools, expected] of cases) {
    it(name, () => {
      if (expected instanceof RegExp) assert.throws(() => chooseNetwork(requested, tools), expected);
      else assert.deepEqual(chooseNetwork(requested, tools), expected);
    });
  }
  it('default with nothing installed: none, with what to install', () => {
    const choice = chooseNetwork(undefined, { tunUsable: true });
    assert.equal(choice.mode, 'none');
    assert.match(choice.note ?? '', /no network: neither pasta nor slirp4netns is installed; install passt/);
  });
  it('default without tun: none, saying why', () => {
    const choice = chooseNetwork(undefined, { ...both, tunUsable: false });
    assert.equal(choice.mode, 'none');
    assert.match(choice.note ?? '', /\/dev\/net\/tun/);
  });
});

const m = (hostIp: string, hostPort: number, containerPort: number, protocol: PortMapping['protocol'] = 'tcp'): PortMapping => ({ hostIp, hostPort, containerPort, protocol });

describe('pastaPortSpec', () => {
  const cases: [PortMapping, string][] = [
    [m('', 8080, 80), '8080:80'],
    [m('127.0.0.1', 8080, 80), '127.0.0.1/8080:80'],
    [m('::1', 8080, 80), '::1/8080:80'],
  ];
  for (const [mapping, spec] of cases) it(spec, () => assert.equal(pastaPortSpec(mapping), spec));
});

describe('pastaHookArgv', () => {
  const base = ['/usr/bin/pasta', '--config-net', '--foreground', '--quiet', '--pid', '/proc/self/fd/3'];
  it('no ports: no forwarding either way, DNS forwarder, no gateway mapping', () => {
    assert.deepEqual(pastaHookArgv({ program: '/usr/bin/pasta', ports: [], readyFd: 3 }), [
      ...base, '-t', 'none', '-u', 'none', '-T', 'none', '-U', 'none', '--dns-forward', '169.254.1.1', '--no-map-gw', '{pid}',
    ]);
  });
  it('tcp and udp ports, host loopback allowed', () => {
    const ports = [m('127.0.0.1', 8080, 80), m('', 8443, 443), m('', 5353, 53, 'udp')];
    assert.deepEqual(pastaHookArgv({ program: '/usr/bin/pasta', ports, readyFd: 3, hostLoopback: true, dnsForward: '10.0.0.53' }), [
      ...base, '-t', '127.0.0.1/8080:80', '-t', '8443:443', '-u', '5353:53', '-T', 'none', '-U', 'none', '--dns-forward', '10.0.0.53', '{pid}',
    ]);
  });
  it('refuses sctp', () => {
    assert.throws(() => pastaHookArgv({ program: 'pasta', ports: [m('', 9, 9, 'sctp')], readyFd: 3 }), /pasta forwards only tcp and udp/);
  });
});

describe('slirpHookArgv', () => {
  it('configures, MTU 65520, no host loopback, ready fd', () => {
    assert.deepEqual(slirpHookArgv({ program: '/usr/bin/slirp4netns', ports: [], readyFd: 4 }), [
      '/usr/bin/slirp4netns', '--configure', '--mtu=65520', '--disable-host-loopback', '--ready-fd=4', '{pid}', 'tap0',
    ]);
  });
  it('refuses published ports, naming pasta', () => {
    assert.throws(() => slirpHookArgv({ program: 's', ports: [m('', 8080, 80)], readyFd: 4 }), (e: Error & { hint?: string }) => {
      assert.match(e.message, /--publish 8080:80\/tcp is not supported with --network slirp4netns/);
      assert.match(e.hint ?? '', /--network pasta/);
      return true;
    });
  });
});

describe('pasta as root', () => {
  it('keeps root\'s ids (pasta would change to nobody)', () => {
    const argv = pastaHookArgv({ program: '/usr/bin/pasta', ports: [], readyFd: 3, asRoot: true });
    assert.deepEqual(argv.slice(-3), ['--runas', '0:0', '{pid}']);
    assert.ok(!pastaHookArgv({ program: '/usr/bin/pasta', ports: [], readyFd: 3 }).includes('--runas'));
  });
});
