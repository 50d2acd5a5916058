// ITU-T G.107 E-model (host-sim/emodel.ts) against worked examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMODEL_DEFAULTS, burstRatio, callQuality, eModel, ieEff, rToMos } from '../../host-sim/emodel.js';
import { Rng, gilbertElliott } from '../../host-sim/net/index.js';

const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} ± ${tol}`);

test('G.107 default values give R = 93.2 (Ro 94.77, Is 1.41, Id 0.15) and MOS 4.41', () => {
  const r = eModel();
  near(r.R, 93.2, 0.05, 'R');
  near(r.Ro, 94.77, 0.01, 'Ro');
  near(r.Is, 1.41, 0.01, 'Is');
  near(r.Id, 0.15, 0.01, 'Id');
  assert.equal(r.IeEff, 0);
  near(r.mos, 4.41, 0.005, 'MOS');
  assert.equal(EMODEL_DEFAULTS.Bpl, 4.3);
});

test('absolute delay: Idd is 0 up to 100 ms and 25·(2^(1/6) − 3·(1 + 3^−6)^(1/6) + 2) = 3.04 at 200 ms', () => {
  assert.equal(eModel({ Ta: 100 }).Idd, 0);
  const hand = 25 * (Math.pow(2, 1 / 6) - 3 * Math.pow(1 + Math.pow(3, -6), 1 / 6) + 2);
  near(eModel({ Ta: 200 }).Idd, hand, 1e-9, 'Idd(200)');
  near(hand, 3.044, 0.001, 'hand value');
  // X = 2 at 400 ms
  const x2 = 25 * (Math.pow(1 + 64, 1 / 6) - 3 * Math.pow(1 + Math.pow(2 / 3, 6), 1 / 6) + 2);
  near(eModel({ Ta: 400 }).Idd, x2, 1e-9, 'Idd(400)');
  // more delay, lower R (talker echo with T = Ta, listener echo with Tr = 2Ta)
  assert.ok(eModel({ Ta: 300, T: 300, Tr: 600 }).R < eModel({ Ta: 150, T: 150, Tr: 300 }).R);
});

test('packet loss: Ie,eff = Ie + (95 − Ie)·Ppl/(Ppl/BurstR + Bpl) — G.729A (Ie 11, Bpl 19) at 2 %: 19.0, bursty (BurstR 2): 19.4', () => {
  near(ieEff(11, 19, 2, 1), 19.0, 1e-9, 'random');
  near(ieEff(11, 19, 2, 2), 11 + 84 * 2 / 20, 1e-9, 'bursty');
  near(eModel({ Ie: 11, Bpl: 19, Ppl: 2 }).R, 93.2 - 19.0, 0.05, 'R');
  // G.711 with PLC (G.113 App. I Bpl 25.1) vs without (4.3) at 1 % random loss
  near(ieEff(0, 25.1, 1), 95 / 26.1, 1e-9, 'G.711 PLC');
  near(ieEff(0, 4.3, 1), 95 / 5.3, 1e-9, 'G.711 no PLC');
  assert.equal(ieEff(5, 10, 0), 5);
});

test('MOS from R (Annex B): 1 below 0, 4.5 above 100, 1 + 0.035R + R(R − 60)(100 − R)·7e−6 between', () => {
  assert.equal(rToMos(-5), 1);
  assert.equal(rToMos(120), 4.5);
  near(rToMos(50), 1 + 1.75 + 50 * -10 * 50 * 7e-6, 1e-12, 'R 50');
  near(rToMos(80), 4.02, 0.005, 'R 80');
  for (let r = 8; r < 100; r++) assert.ok(rToMos(r) > rToMos(r - 1), `monotone at ${r}`);
  for (let r = 0; r < 8; r++) assert.ok(rToMos(r) >= 1, 'never below 1');
});

test('BurstR from a loss pattern: 1 for random loss, 1/(p + r) for a Gilbert channel', () => {
  const rng = new Rng(3);
  const random = Array.from({ length: 200_000 }, () => rng.float() < 0.05);
  near(burstRatio(random), 1, 0.03, 'random');
  const ge = gilbertElliott({ p: 0.01, r: 0.25 });
  const bursty = Array.from({ length: 200_000 }, () => ge.lost(0, rng));
  near(burstRatio(bursty), 1 / (0.01 + 0.25), 0.15, 'Gilbert');
  assert.equal(burstRatio([false, false, false]), 1);
});

test('call quality: codec Ie/Bpl, T = Ta and Tr = 2·Ta, loss and burstiness lower R', () => {
  const clean = callQuality({ mouthToEarMs: 50, codec: 'pcmu', pplPct: 0 });
  assert.ok(clean.R > 91 && clean.mos > 4.3, JSON.stringify(clean));
  const lossy = callQuality({ mouthToEarMs: 50, codec: 'pcmu', pplPct: 2 });
  const bursty = callQuality({ mouthToEarMs: 50, codec: 'pcmu', pplPct: 2, burstR: 3 });
  assert.ok(lossy.R < clean.R - 5 && bursty.R < lossy.R, `${clean.R} ${lossy.R} ${bursty.R}`);
  assert.ok(callQuality({ mouthToEarMs: 50, codec: 'ilbc20', pplPct: 0 }).R < clean.R, 'iLBC has Ie > 0');
});
