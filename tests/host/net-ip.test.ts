import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipFromString, ipToString, isPrivate } from '../../host-sim/net/index.js';

test('ipFromString / ipToString round trip', () => {
  assert.equal(ipFromString('1.2.3.4'), 0x01020304);
  assert.equal(ipFromString('255.255.255.255'), 0xffffffff);
  assert.equal(ipFromString('0.0.0.0'), 0);
  assert.equal(ipToString(0xc0a80101), '192.168.1.1');
  assert.equal(ipToString(0xffffffff), '255.255.255.255');
  for (const s of ['8.8.8.8', '10.0.0.1', '203.0.113.77', '172.31.255.254']) assert.equal(ipToString(ipFromString(s)), s);
});

test('malformed addresses are rejected', () => {
  for (const s of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-1', 'a.b.c.d', '1..2.3', ' 1.2.3.4', '1.2.3.4 ', '']) {
    assert.throws(() => ipFromString(s), RangeError, s);
  }
  assert.throws(() => ipToString(-1));
  assert.throws(() => ipToString(2 ** 32));
  assert.throws(() => ipToString(1.5));
});

test('isPrivate covers RFC 1918, shared CGN space and loopback', () => {
  const priv = ['10.0.0.0', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.0.1', '100.64.0.1', '100.127.255.255', '127.0.0.1'];
  const pub = ['9.255.255.255', '11.0.0.0', '172.15.255.255', '172.32.0.0', '192.167.255.255', '192.169.0.0', '100.63.255.255', '100.128.0.0', '8.8.8.8', '128.0.0.1'];
  for (const s of priv) assert.equal(isPrivate(ipFromString(s)), true, s);
  for (const s of pub) assert.equal(isPrivate(ipFromString(s)), false, s);
});
