import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDefaultRoute4, parseDefaultRoute6 } from '../../../src/engine/network/hostnet.ts';

const ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
`;
const ROUTE6 = `fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
`;

describe('host routes', () => {
  it('finds the IPv4 default route', () => assert.deepEqual(parseDefaultRoute4(ROUTE), { interface: 'eth0', gateway: '192.0.2.1' }));
  it('has none without a default route', () => assert.equal(parseDefaultRoute4(ROUTE.split('\n').slice(0, 2).join('\n')), undefined));
  it('finds the IPv6 default route, skipping reject routes on lo', () => assert.deepEqual(parseDefaultRoute6(ROUTE6), { interface: 'eth0', gateway: 'fd00::1' }));
  it('has no IPv6 default with only the reject route', () => assert.equal(parseDefaultRoute6(ROUTE6.split('\n').slice(2).join('\n')), undefined));
  it('reads empty input', () => {
    assert.equal(parseDefaultRoute4(''), undefined);
    assert.equal(parseDefaultRoute6(''), undefined);
  });
});
