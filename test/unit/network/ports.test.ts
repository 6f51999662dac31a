import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspectPorts, parsePublish, parsePublishFlags, portLines, publishAll, type PortMapping, type PortRequest } from '../../../src/engine/network/ports.ts';

const req = (hostIp: string, hostPort: number, containerPort: number, protocol: PortRequest['protocol'] = 'tcp'): PortRequest => ({ hostIp, hostPort, containerPort, protocol });

describe('parsePublish', () => {
  const cases: [string, PortRequest[] | RegExp][] = [
    ['80', [req('', 0, 80)]],
    ['8080:80', [req('', 8080, 80)]],
    ['127.0.0.1:8080:80', [req('127.0.0.1', 8080, 80)]],
    ['127.0.0.1::80', [req('127.0.0.1', 0, 80)]],
    ['[::1]:8080:80', [req('::1', 8080, 80)]],
    ['[::1]::80/udp', [req('::1', 0, 80, 'udp')]],
    ['[fe80::1%eth0]:8080:80', /is not an IP address/],
    ['53:53/udp', [req('', 53, 53, 'udp')]],
    ['53:53/UDP', [req('', 53, 53, 'udp')]],
    ['9000:9000/sctp', [req('', 9000, 9000, 'sctp')]],
    ['8000-8002:80-82', [req('', 8000, 80), req('', 8001, 81), req('', 8002, 82)]],
    ['80-81', [req('', 0, 80), req('', 0, 81)]],
    ['0.0.0.0:8000-8001:80-81/udp', [req('0.0.0.0', 8000, 80, 'udp'), req('0.0.0.0', 8001, 81, 'udp')]],
    ['8000-8010:80', [{ hostIp: '', hostPort: 0, hostRange: [8000, 8010], containerPort: 80, protocol: 'tcp' }]],
    ['8000-8010:80-82', /the host range has 11 ports but the container range 3/],
    ['80/icmp', /invalid --publish "80\/icmp": unknown protocol "icmp"/],
    ['', /the container port is missing/],
    ['8080:', /the container port is missing/],
    ['http', /container port "http" is not a port number/],
    ['0', /container port 0 is out of range/],
    ['70000', /container port 70000 is out of range/],
    ['x:80', /host port "x" is not a port number/],
    ['300.1.1.1:80:80', /"300.1.1.1" is not an IP address/],
    ['::1:8080:80', /too many ":"/],
    ['[::1]8080:80', /in brackets followed by ":"/],
    ['90-80', /range 90-80 ends before it starts/],
    ['1.2.3.4:5:6:7', /too many ":"/],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => {
      if (expected instanceof RegExp) assert.throws(() => parsePublish(text), expected);
      else assert.deepEqual(parsePublish(text), expected);
    });
  }
});

describe('parsePublishFlags and -P', () => {
  it('publishes every exposed port once, after the explicit ones', () => {
    const out = parsePublishFlags(['8080:80'], true, { '80/tcp': {}, '53/udp': {}, '443/tcp': {} });
    assert.deepEqual(out, [req('', 8080, 80), req('', 0, 53, 'udp'), req('', 0, 443)]);
  });
  it('ignores -P without exposed ports', () => {
    assert.deepEqual(publishAll(undefined, []), []);
  });
  it('expands exposed ranges', () => {
    assert.deepEqual(publishAll({ '8000-8001/tcp': {} }, []), [req('', 0, 8000), req('', 0, 8001)]);
  });
  const clashes: [string[], boolean][] = [
    [['8080:80', '8080:81'], true],
    [['127.0.0.1:8080:80', '8080:81'], true],
    [['127.0.0.1:8080:80', '127.0.0.2:8080:81'], false],
    [['8080:80', '8080:80/udp'], false],
    [['80', '80'], false],
  ];
  for (const [values, clash] of clashes) {
    it(`${values.join(' ')} ${clash ? 'clash' : 'do not clash'}`, () => {
      if (clash) assert.throws(() => parsePublishFlags(values, false), /published twice/);
      else parsePublishFlags(values, false);
    });
  }
});

const mappings: PortMapping[] = [
  { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostIp: '', hostPort: 5353, containerPort: 53, protocol: 'udp' },
  { hostIp: '::1', hostPort: 8443, containerPort: 443, protocol: 'tcp' },
];

describe('inspectPorts', () => {
  it('maps PORT/PROTO to bindings, unpublished exposed ports to null', () => {
    assert.deepEqual(inspectPorts(mappings, { '80/tcp': {}, '9000/tcp': {} }), {
      '53/udp': [{ HostIp: '0.0.0.0', HostPort: '5353' }, { HostIp: '::', HostPort: '5353' }],
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }],
      '443/tcp': [{ HostIp: '::1', HostPort: '8443' }],
      '9000/tcp': null,
    });
  });
});

describe('portLines', () => {
  const cases: [string | undefined, string[] | RegExp][] = [
    [undefined, ['53/udp -> 0.0.0.0:5353', '53/udp -> [::]:5353', '80/tcp -> 127.0.0.1:8080', '443/tcp -> [::1]:8443']],
    ['80', ['127.0.0.1:8080']],
    ['80/tcp', ['127.0.0.1:8080']],
    ['53/udp', ['0.0.0.0:5353', '[::]:5353']],
    ['53', []],
    ['http', /expected PORT or PORT\/PROTOCOL/],
  ];
  for (const [filter, expected] of cases) {
    it(String(filter), () => {
      if (expected instanceof RegExp) assert.throws(() => portLines(mappings, filter), expected);
      else assert.deepEqual(portLines(mappings, filter), expected);
    });
  }
});
