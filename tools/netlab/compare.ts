/**
 * Real (NAT lab) vs simulated figures of one setup, metric by metric, with the relative difference and, where
 * it exceeds 20 %, the reason (NOTES: what the simulator models differently, found by reading the captures
 * and counters of the lab runs; docs/netlab.md has the details).
 *
 * Bytes: "sim" is the simulator's wire model (IP + UDP 28 B / TCP 40 B headers per packet, no pure ACKs);
 * "real" is what the kernel counted on the phone's interface (IP bytes: TCP options and ACKs included);
 * "real, sim accounting" applies the simulator's model to the real traffic (host-sim/real/host.ts), which
 * separates "the firmware did something else" from "the model leaves something out".
 */
import type { LiveCallReport } from '../../host-sim/real/live-report.js';

export interface Comparison {
  metric: string;
  unit: string;
  sim: number | string | null;
  real: number | string | null;
  /** The simulator's byte model applied to the real traffic (byte metrics only). */
  realSimAccounting?: number | null;
  /** (real − sim) / sim × 100, rounded. */
  deltaPct: number | null;
  within20: boolean;
  note?: string;
}

/** Why a metric may differ by more than 20 % (keyed by metric name prefix). */
export const NOTES: Record<string, string> = {
  'login bytes': 'real TCP: 12-byte timestamp option on every segment, SYN/SYN-ACK options, the handshake\'s third ACK and pure/delayed ACKs — the simulator\'s TCP (host-sim/net) sends no ACK packets and 40-byte headers; "real, sim accounting" matches the simulator. Behind the UDP-blocking firewall the phone also opens parallel TCP connections and closes the losers: their FIN/RST exchanges are real traffic the simulator counts only partly',
  'call-setup bytes': 'as login bytes: TCP ACKs and options, which the simulated TCP leaves out',
  'search bytes': 'as login bytes: the search response is acknowledged by a pure TCP ACK (52 B) that the simulated TCP does not send',
  'login server round trip': 'phone → SN → login server → SN → phone is 2 RTT (100 ms) in both; the rest is the real server\'s scrypt (N=16384, r=8) per request, which the simulated login server (host-sim/login-host.ts) does in zero virtual time',
  'login time': 'the real login server spends ≈2 × scrypt (N=16384, r=8: tens of ms each on this machine) per register+login, and each Node process pays JIT warm-up; the simulated server answers in zero virtual time',
  'search time': 'a search is one request/response over an open TCP connection (≈1 RTT): small absolute differences (a few ms of process scheduling) are large in percent',
  'dial→ringing': 'the simulator charges no CPU time: in the lab each step costs real processing (V8 compiles the firmware\'s call path on first use; 6 processes share 2 cores), tens of ms that vary from run to run; and when the two phones sit on different supernodes, signaling via the supernodes takes one more SN→SN hop (+1 RTT) — which supernode answers first is a race (see the "same supernode" row)',
  'same supernode': 'which supernode answers a phone\'s probes first is a race: link jitter in the simulator, process scheduling in the lab',
  'jitter buffer concealment': 'real timing jitter — Node timers and process scheduling on 2 shared cores, the user-space delay line — makes the adaptive jitter buffer stretch and conceal ≈1 % of blocks; the simulator\'s links have 0–1 ms uniform jitter. (Also why a waveform SNR is not compared: time-stretching shifts the alignment.)',
  'media wire bandwidth': 'relay-tcp: real TCP ACKs for every media segment (52 B each way) and timestamp options; UDP paths match',
};

function num(v: unknown): number | null { return typeof v === 'number' && Number.isFinite(v) ? v : null; }

function row(metric: string, unit: string, sim: unknown, real: unknown, realSimAccounting?: unknown): Comparison {
  const s = num(sim), r = num(real);
  const c: Comparison = { metric, unit, sim: s ?? (typeof sim === 'string' ? sim : null), real: r ?? (typeof real === 'string' ? real : null), deltaPct: null, within20: false };
  if (realSimAccounting !== undefined) c.realSimAccounting = num(realSimAccounting);
  if (s !== null && r !== null) {
    c.deltaPct = s === 0 ? (r === 0 ? 0 : null) : Math.round(((r - s) / s) * 1000) / 10;
    c.within20 = c.deltaPct !== null && Math.abs(c.deltaPct) <= 20;
  } else if (typeof sim === 'string' || typeof real === 'string') {
    c.within20 = sim === real;
    c.deltaPct = null;
  }
  if (!c.within20) {
    const key = Object.keys(NOTES).find((k) => metric.startsWith(k));
    if (key) c.note = NOTES[key];
    else if (c.real === null) c.note = 'no real figure (the real call did not get this far)';
  }
  return c;
}

/** The comparison rows for one setup. */
export function compare(real: LiveCallReport, sim: LiveCallReport): Comparison[] {
  const rows: Comparison[] = [];
  for (const who of ['alice', 'bob']) {
    const r = real.phones[who], s = sim.phones[who];
    rows.push(row(`login time (${who})`, 'ms', s?.loginMs, r?.loginMs));
    rows.push(row(`login server round trip, register (${who})`, 'ms', s?.registerRoundTripMs, r?.registerRoundTripMs));
    rows.push(row(`login server round trip, login (${who})`, 'ms', s?.loginRoundTripMs, r?.loginRoundTripMs));
    rows.push(row(`login bytes (${who})`, 'B', s?.login?.wireBytes, r?.login?.wireBytes, r?.login?.bytes));
  }
  rows.push(row('search time', 'ms', sim.search?.ms, real.search?.ms));
  rows.push(row('search bytes', 'B', sim.search?.wireBytes, real.search?.wireBytes, real.search?.bytes));
  rows.push(row('dial→ringing', 'ms', sim.callSetup?.dialToRingingMs, real.callSetup?.dialToRingingMs));
  rows.push(row('call-setup bytes (dial→answer, caller)', 'B', sim.callSetup?.wireBytes, real.callSetup?.wireBytes, real.callSetup?.bytes));
  const same = (r: LiveCallReport) => (r.phones.alice?.supernode && r.phones.bob?.supernode ? (r.phones.alice.supernode === r.phones.bob.supernode ? 'yes' : 'no') : null);
  rows.push(row('same supernode for both phones', '', same(sim), same(real)));
  rows.push(row('media path', '', sim.path, real.path));
  rows.push(row('media RTP bandwidth (alice→bob)', 'B/s', sim.phones.alice?.media?.bandwidthSentBps, real.phones.alice?.media?.bandwidthSentBps));
  rows.push(row('media wire bandwidth (alice, both ways)', 'B/s', sim.phones.alice?.media?.wireBandwidthBps, real.phones.alice?.media?.wireBandwidthBps));
  const conceal = (r: LiveCallReport) => { const m = r.phones.bob?.media; return m?.concealed10ms !== undefined ? Math.round((m.concealed10ms / Math.max(1, m.durationMs / 10)) * 10000) / 100 : undefined; };
  rows.push(row('jitter buffer concealment (bob)', '%', conceal(sim), conceal(real)));
  return rows;
}

/** One markdown table for all setups. */
export function markdownTable(setups: { id: string; title: string; comparison: Comparison[] }[]): string {
  const L = ['| setup | metric | simulator | real (lab) | real, sim accounting | Δ | ≤ 20 % |', '|---|---|---:|---:|---:|---:|:-:|'];
  const f = (v: number | string | null | undefined, unit: string) => (v === null || v === undefined ? '–' : typeof v === 'number' ? `${Math.round(v * 10) / 10}${unit ? ` ${unit}` : ''}` : v);
  for (const s of setups) {
    for (const c of s.comparison) {
      L.push(`| ${s.title} | ${c.metric} | ${f(c.sim, c.unit)} | ${f(c.real, c.unit)} | ${c.realSimAccounting !== undefined ? f(c.realSimAccounting, c.unit) : ''} | ${c.deltaPct === null ? '' : `${c.deltaPct > 0 ? '+' : ''}${c.deltaPct} %`} | ${c.within20 ? 'yes' : 'no¹'} |`);
    }
  }
  const notes = new Map<string, string>();
  for (const s of setups) for (const c of s.comparison) if (!c.within20 && c.note) notes.set(c.metric.replace(/ \(.*\)$/, ''), c.note);
  if (notes.size) {
    L.push('', '¹ Why they differ:');
    for (const [m, n] of notes) L.push(`- **${m}**: ${n}`);
  }
  return L.join('\n');
}
