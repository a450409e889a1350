/**
 * An adaptive concurrency limit for one provider target: how many attempts may be in flight to it at once,
 * learned from its time to first token (TTFT) instead of configured.
 *
 * The controller is a gradient controller after Netflix concurrency-limits' Gradient2Limit, with Envoy's
 * adaptive concurrency filter's way of measuring the baseline, plus an AIMD back-off on explicit overload
 * signals (as TCP cuts its window on loss; concurrency-limits' AIMDLimit does the same).
 *
 * - `short` is an EWMA of TTFT over ~the last 2 round trips: what the upstream does now. `baseline` is what it
 *   does when it is not loaded: the mean TTFT of a few requests sent at `min` concurrency.
 * - gradient = clamp(tolerance · baseline / short, 0.5, 1). While TTFT stays within `tolerance` × the
 *   baseline the gradient is 1; when TTFT rises above that, it falls in proportion.
 * - With gradient 1 the target is limit + √limit (Gradient2's allowance: room to probe for capacity, fast
 *   from small limits, small relative to large ones); below 1 it is limit · gradient, what the latency
 *   says the upstream can take. Each sample moves the limit `smoothing` of the way to the target, so one
 *   slow sample costs at most ~10%, and a run of them cuts it geometrically: a slowing upstream loses
 *   concurrency while its TTFT is still only tolerance × normal, not after it collapsed. Unlike Gradient2
 *   the allowance is not added below gradient 1: there it would hold the limit at gradient 1 − 1/√limit,
 *   i.e. with the upstream's own queue always ~√limit deep and TTFT above the tolerance line. Without it
 *   the limit oscillates within about √limit · smoothing of the line (against an upstream that serves 16
 *   at once and queues the rest: 17–19 at tolerance 1.1, 19–20 at 1.2, 24–25 at 1.5).
 * - One update per round trip: samples are gathered for as long as the current short TTFT and the
 *   limit moves once, from their mean (the "window" of concurrency-limits' WindowedLimit, sized by the
 *   round trip as TCP's congestion window is). A sample describes the load of one round trip earlier;
 *   moving the limit on every sample, at hundreds of samples per round trip, turned that delay into
 *   swings between min and 2-3x the upstream's capacity (an idle upstream, then a long queue inside it).
 * - It only grows when some request of the window was sent with at least half the limit in flight: a
 *   limit the traffic never reaches says nothing about the upstream's capacity ("app-limited", as in
 *   Gradient2 and BBR). While app-limited it decays slowly (a tenth of the way per round trip) toward
 *   twice the concurrency the traffic used, as TCP validates an unused congestion window (RFC 7661): a
 *   burst after a lull meets a limit near what the upstream was last shown, and grows from there while
 *   latency allows, instead of a stale high limit that floods the upstream's own queue for the seconds it
 *   takes to come down (interactive requests, which go first in Sluice's queue, wait behind batch ones
 *   in the upstream's).
 * - Why the baseline is measured and not averaged: Gradient2 takes it as a long EWMA of the same samples,
 *   so under steady saturation the baseline creeps up to the loaded latency, the gradient returns to 1 and
 *   the limit climbs to max (in a simulation of an upstream that saturates at 20, it reached 500 within
 *   2,000 samples). So, as Envoy does (its minRTT window), every `probeIntervalMs` the limit drops to `min`
 *   until 8 samples started at that concurrency have come back, their mean becomes the baseline, and the
 *   previous limit is restored. That costs a moment of lower throughput per interval, and is how a
 *   permanently slower upstream (longer prompts, a new model version) becomes the new normal instead of
 *   being starved. Between probes the baseline only moves down, to a lower short average.
 * - onOverload() (upstream 429/529/503) multiplies the limit by `backoff` (0.9): latency may not have moved
 *   yet but the upstream has said it is full. At most one back-off per current short TTFT: the attempts
 *   already in flight when the limit was cut were sent under the old limit, and a burst of their 429s is one
 *   signal, not twenty (TCP reduces once per round trip for the same reason).
 * - Optionally, a second, lower limit for batch work (`batchLimit`, when `batchTolerance` < `tolerance`),
 *   from the same samples, never above the limit. The upstream serves its own line in order, so every
 *   request in it waits behind the line's batch requests: with one limit for both, a batch backlog keeps
 *   that line at the limit's equilibrium, about (tolerance − 1) × the upstream's capacity deep, and
 *   interactive requests pay that wait whatever Sluice's queue does for them. The batch limit lets batch
 *   work alone take the upstream only to where its TTFT starts to rise; interactive work may take it on
 *   to `tolerance`. It is weighted RED's low-priority threshold (a router drops low-priority packets at a
 *   shorter queue than high-priority ones) applied to a concurrency limit. Its rules differ from the
 *   limit's in three ways, all to keep the upstream's line near empty rather than near a tolerance:
 *   above `batchTolerance` it shrinks toward the upstream's capacity by Little's law (in flight ×
 *   baseline / TTFT) instead of toward tolerance × that; it remembers the knee (see Knee) and grows slowly
 *   near it; and a single window above the tolerance marks the knee before the average shows it, so the
 *   ramp of a burst does not overshoot by the round trip or two the average lags.
 *   The price: like any tolerance near 1, it can read noise in the TTFT as load. Its own baseline, its
 *   re-basing when a shrink run shows that baseline wrong (ShrinkRun) and a threshold that allows for the
 *   noise of a window's mean (noiseMargin) keep answer times that vary by half from starving batch in the
 *   closed-loop simulation of the tests; at ±70% it can still end near `min` in some runs. This class's
 *   default is one limit; the gateway's config turns the batch limit on (batch_tolerance 1.02).
 * - The limit's own baseline, too, can be measured low (8 samples); the same shrink-run test then starts
 *   a probe early instead of waiting out the interval (see step).
 *
 * Guarantees (tested): min ≤ limit ≤ max and finite whatever the samples; under steady TTFT and enough
 * demand it grows to max; when TTFT rises above tolerance × baseline it falls within a few samples, and
 * against an upstream that saturates it settles near the saturation point rather than drifting to max;
 * k overload signals a TTFT apart cut it to backoff^k of its value (floored at min). The batch limit equals
 * the limit without a batch tolerance and never exceeds it with one; with one, batch work alone keeps a
 * steady upstream's own line under one request on average, and the batch limit follows an upstream whose
 * capacity grows; a probe takes both limits to min and restores both.
 *
 * Per replica, like the retry budget: each replica limits its own attempts. Every call is O(1).
 */
export interface AdaptiveLimitOptions {
  initial: number;
  min: number;
  max: number;
  /** Fraction of the way to the new target each sample moves the limit, 0..1 (default 0.2). */
  smoothing?: number;
  /**
   * TTFT may reach tolerance × baseline before the limit shrinks (default 1.5, Gradient2's; the gateway's
   * config default is 1.25, Envoy's 25% buffer over its minimum RTT).
   */
  tolerance?: number;
  /** Multiplier on an overload signal, 0..1 (default 0.9). */
  backoff?: number;
  /** How often the baseline is re-measured at `min` concurrency (default 60 s, Envoy's default interval). */
  probeIntervalMs?: number;
  /** The tolerance of the batch limit (default: `tolerance`, one limit for both classes). */
  batchTolerance?: number;
}

/** Samples in a baseline measurement (the first ones, then each probe's). */
const baselineSamples = 8;
/** Weight of a new window's mean in the short average (~the last 2 round trips: a rise shows quickly). */
const shortAlpha = 0.5;
const minGradient = 0.5;
/** How far an app-limited window moves the limit toward what the traffic used (see onSample). */
const decay = 0.1;
/** Growth per round trip within one slot of the last knee (see Knee). */
const nearKneeStep = 0.1;
/**
 * Round trips in a row a limit may shrink before its baseline may be taken to be wrong (see ShrinkRun):
 * a line the batch limit itself made drains in fewer (about 5 at smoothing 0.2, 16 slots over by one).
 */
const rebaseAfter = 12;
/** A shrink run's first and last thirds are what ShrinkRun compares. */
const rebaseThird = rebaseAfter / 3;
/**
 * Standard errors of a window's mean TTFT the batch limit's threshold allows over its tolerance
 * (stepBatch). Half of one: against a steady upstream it is a fraction of a percent and the tolerance
 * decides; with answer times that vary by half it is several percent, which a tolerance of 1.05 alone
 * would read as load every few round trips. (In the simulation a whole one held batch lower at ±20%.)
 */
const noiseMargin = 0.5;
/** An early probe (the baseline looked wrong) comes at least this long after the previous probe. */
const earlyProbeGapMs = 5_000;

/**
 * The batch limit at which it last crossed its tolerance (or drew an overload signal): the upstream's
 * capacity as last seen. Growth slows to `nearKneeStep` a round trip within one slot of it, so the limit
 * spends its time just below the capacity instead of overshooting by what √limit growth adds during the
 * round trip or two the TTFT takes to show it (CUBIC's plateau around its last maximum, in its simplest
 * form). Growing past it by √knee with latency in tolerance means the capacity grew: it is forgotten and
 * growth is fast again. (Not for the limit: with noisy TTFT every shrink marks a knee and the slow growth
 * near it ratchets the limit down to `min`.)
 */
interface Knee {
  at: number;
  /** The last window shrank the limit: a run of shrinking windows marks the knee once, at its start. */
  falling: boolean;
}

/**
 * A run of round trips in which a limit shrank, and whether shrinking brought its TTFT down. Above the
 * upstream's capacity the TTFT is its line, which shortens in proportion as the limit is cut; below it
 * the TTFT is the answer time alone and does not move. So after `rebaseAfter` shrinking round trips in
 * a row, a limit that fell by 5% or more while the TTFT fell by less than half as much was cut for a
 * line that was not there, and the baseline it was judged against is what is wrong: one measured from 8
 * samples comes out a fifth low often enough when answer times vary by half, and then every round trip
 * reads as load and the limit ratchets down to `min` until the next probe (in the closed-loop simulation
 * of the tests, 2 runs in 8 at ±50% and 6 in 8 at ±70%). The run's first and last thirds of window
 * means are compared, not two single round trips: with such answer times one window's mean moves by 5%
 * and more on its own.
 */
class ShrinkRun {
  private count = 0;
  private from = 0;
  private to = 0;
  private estimateFrom = 0;

  /** A window that did not shrink the limit ends the run. */
  reset(): void {
    this.count = 0;
  }

  /**
   * A window that shrank the limit (from `estimate`), with its mean TTFT. Returns the TTFT to take as the
   * new baseline when the run shows the baseline wrong (the mean of its last third), else undefined.
   */
  shrank(windowMean: number, estimate: number): number | undefined {
    const run = ++this.count;
    if (run === 1) {
      this.from = this.to = 0;
      this.estimateFrom = estimate;
    }
    if (run <= rebaseThird) this.from += windowMean / rebaseThird;
    if (run > rebaseAfter - rebaseThird) this.to += windowMean / rebaseThird;
    if (run < rebaseAfter) return undefined;
    this.count = 0;
    const limitFall = 1 - estimate / this.estimateFrom;
    const ttftFall = 1 - this.to / this.from;
    return limitFall >= 0.05 && ttftFall < limitFall / 2 ? this.to : undefined;
  }
}

export class AdaptiveLimit {
  /** Called with the new integer limit whenever it changes (for the current-limit gauge). */
  onChange?: (limit: number) => void;

  private readonly min: number;
  private readonly max: number;
  private readonly smoothing: number;
  private readonly tolerance: number;
  private readonly batchTolerance: number;
  private readonly backoff: number;
  private readonly now: () => number;
  /** The limit as a real number; `limit` exposes its integer part. */
  private estimate: number;
  private current: number;
  /** The batch limit as a real number, ≤ estimate; `batchLimit` exposes its integer part. */
  private batchEstimate: number;
  private batchCurrent: number;
  /** Whether there is a separate batch limit (batchTolerance < tolerance). */
  private readonly twoLimits: boolean;
  /** Where the batch limit last met the upstream's capacity (see Knee). */
  private readonly batchKnee: Knee = { at: Infinity, falling: false };
  /** The batch limit's baseline: each measurement's mean, raised when it proves low (see stepBatch). */
  private batchBaseline = 0;
  /** Round trips in a row each limit has shrunk (see ShrinkRun). */
  private readonly shrinks = new ShrinkRun();
  private readonly batchShrinks = new ShrinkRun();
  private active = 0;
  private readonly probeIntervalMs: number;
  private shortRtt = 0;
  /** 0 until the first measurement is complete. */
  private baseline = 0;
  /** A baseline measurement under way: the first samples, or a probe at `min` concurrency. */
  private measuring = true;
  private measuredSum = 0;
  private measuredCount = 0;
  /** The limit to restore after a probe; undefined outside probes. And the batch limit to restore. */
  private restoreTo: number | undefined;
  private restoreBatchTo = 0;
  private nextProbeAt = Infinity;
  /** When the last probe began (an early probe waits `earlyProbeGapMs` after it). */
  private lastProbeAt = -Infinity;
  private lastBackoffAt = -Infinity;
  /** The samples of the current window (see onSample). */
  private windowStart = -Infinity;
  private windowSum = 0;
  private windowSumSq = 0;
  private windowCount = 0;
  /** Standard error of a window's mean TTFT, averaged like `shortRtt` (see noiseMargin). */
  private windowNoise = 0;
  private windowInFlight = 0;

  constructor(options: AdaptiveLimitOptions, now: () => number = Date.now) {
    this.min = Math.max(1, finiteOr(options.min, 1));
    this.max = Math.max(this.min, finiteOr(options.max, this.min));
    this.smoothing = clamp(finiteOr(options.smoothing ?? 0.2, 0.2), 0.01, 1);
    this.tolerance = Math.max(1, finiteOr(options.tolerance ?? 1.5, 1.5));
    this.batchTolerance = clamp(
      finiteOr(options.batchTolerance ?? this.tolerance, this.tolerance),
      1,
      this.tolerance,
    );
    this.twoLimits = this.batchTolerance < this.tolerance;
    this.backoff = clamp(finiteOr(options.backoff ?? 0.9, 0.9), 0.1, 1);
    this.probeIntervalMs = Math.max(1, finiteOr(options.probeIntervalMs ?? 60_000, 60_000));
    this.now = now;
    this.estimate = clamp(finiteOr(options.initial, this.min), this.min, this.max);
    this.current = Math.floor(this.estimate);
    this.batchEstimate = this.estimate;
    this.batchCurrent = this.current;
  }

  get limit(): number {
    return this.current;
  }

  /** How many of `limit` batch work may fill (see the class comment); `min` during a probe, like the limit. */
  get batchLimit(): number {
    return this.batchCurrent;
  }

  get inFlight(): number {
    return this.active;
  }

  /** The current short TTFT (ms): one round trip to the first token; 0 before the first measurement. */
  get roundTripMs(): number {
    return this.shortRtt;
  }

  /** Takes a slot when fewer than `limit` are in flight. Every true must end in onSample() or release(). */
  tryAcquire(): boolean {
    if (this.active >= this.current) return false;
    this.active++;
    return true;
  }

  /**
   * A request ended with a TTFT measurement: frees its slot and updates the limit. `inFlightAtStart` is
   * `inFlight` when its slot was taken (including itself).
   */
  onSample(rttMs: number, inFlightAtStart: number): void {
    this.release();
    // A zero, negative or non-finite TTFT is a clock or caller bug; learning from it would poison both
    // averages (a 0 baseline makes every later gradient 0/x or x/0).
    if (!Number.isFinite(rttMs) || rttMs <= 0) return;
    const at = this.now();
    if (this.measuring) {
      // A probe counts only what was sent at its concurrency; the attempts already in flight when it began
      // carry the loaded latency it is trying to get away from.
      if (this.restoreTo !== undefined && inFlightAtStart > this.min) return;
      this.measuredSum += rttMs;
      this.measuredCount++;
      if (this.measuredCount < baselineSamples) return;
      this.baseline = this.shortRtt = this.batchBaseline = this.measuredSum / this.measuredCount;
      this.measuring = false;
      this.windowStart = at;
      this.windowSum = this.windowSumSq = this.windowCount = this.windowInFlight = 0;
      this.nextProbeAt = at + this.probeIntervalMs;
      if (this.restoreTo !== undefined) {
        const restore = this.restoreTo;
        this.restoreTo = undefined;
        this.set(restore, this.restoreBatchTo);
      }
      return;
    }
    if (at >= this.nextProbeAt) {
      this.lastProbeAt = at;
      this.measuring = true;
      this.measuredSum = 0;
      this.measuredCount = 0;
      this.restoreTo = this.estimate;
      this.restoreBatchTo = this.batchEstimate;
      this.set(this.min);
      return;
    }

    // One update per round trip (a window as long as the current short TTFT), from the window's mean.
    this.windowSum += rttMs;
    this.windowSumSq += rttMs * rttMs;
    this.windowCount++;
    if (inFlightAtStart > this.windowInFlight) this.windowInFlight = inFlightAtStart;
    if (at - this.windowStart < this.shortRtt) return;
    const count = this.windowCount;
    const mean = this.windowSum / count;
    if (count > 1) {
      const variance = Math.max(0, (this.windowSumSq - count * mean * mean) / (count - 1));
      this.windowNoise += shortAlpha * (Math.sqrt(variance / count) - this.windowNoise);
    }
    const peakInFlight = this.windowInFlight;
    this.windowStart = at;
    this.windowSum = 0;
    this.windowSumSq = 0;
    this.windowCount = 0;
    this.windowInFlight = 0;

    this.shortRtt += shortAlpha * (mean - this.shortRtt);
    this.baseline = Math.min(this.baseline, this.shortRtt);
    // A round trip with the traffic well under the batch limit, when it was sent and now, is a sample of
    // the unloaded TTFT: the batch baseline follows those a tenth of the way each, up or down (see
    // stepBatch). (The check on now leaves out the first round trips of a backlog, whose answers were sent
    // while concurrency was still ramping up but waited in the upstream's line.)
    const light = this.batchEstimate / 2;
    if (this.twoLimits && Number.isFinite(peakInFlight) && peakInFlight < light && this.active < light)
      this.batchBaseline += 0.1 * (mean - this.batchBaseline);
    const limit = this.step(this.estimate, peakInFlight, mean);
    this.set(limit, this.twoLimits ? this.stepBatch(this.batchEstimate, peakInFlight, mean) : limit);
  }

  /** One window's move of the limit: the controller described above. */
  private step(estimate: number, peakInFlight: number, windowMean: number): number {
    const gradient = clamp((this.tolerance * this.baseline) / this.shortRtt, minGradient, 1);
    if (this.appLimited(estimate, peakInFlight)) {
      this.shrinks.reset();
      return this.decayed(estimate, gradient, peakInFlight);
    }
    if (gradient < 1) {
      // The baseline looks wrong (see ShrinkRun): measure it again now rather than at the next interval.
      // Not re-based to the present TTFT as the batch limit's is: at the limit's tolerance a line of its
      // own making is there by design, and taking its TTFT as the baseline would let the limit creep up.
      if (this.shrinks.shrank(windowMean, estimate) !== undefined)
        this.nextProbeAt = Math.min(
          this.nextProbeAt,
          Math.max(this.now(), this.lastProbeAt + earlyProbeGapMs),
        );
    } else {
      this.shrinks.reset();
    }
    const target = gradient < 1 ? estimate * gradient : estimate + Math.sqrt(estimate);
    return estimate + this.smoothing * (target - estimate);
  }

  /**
   * One window's move of the batch limit (see the class comment and Knee). Its baseline is each
   * measurement's mean, then an average of unloaded round trips (onSample), not the limit's, which moves
   * down to the lowest short average between probes: with noisy TTFT that is a low outlier, and a
   * tolerance near 1 over a low baseline reads every round trip as load. Eight samples can still come out
   * low; then the limit shrinks and the TTFT does not come down with it, since no line of its making was
   * there, and ShrinkRun's test makes the present TTFT the baseline: the limit stops where it is instead
   * of ratcheting down to `min`. docs/limits.md ("A batch limit") has the simulation's figures. The
   * price: after an upstream slows for good, the batch limit also takes the slower TTFT as its baseline.
   */
  private stepBatch(estimate: number, peakInFlight: number, windowMean: number): number {
    const baseline = this.batchBaseline;
    // Over the tolerance by more than the noise of a window's mean (see noiseMargin).
    const threshold = this.batchTolerance * baseline + noiseMargin * this.windowNoise;
    const knee = this.batchKnee;
    if (this.appLimited(estimate, peakInFlight)) {
      const gradient = clamp(threshold / this.shortRtt, minGradient, 1);
      return this.decayed(estimate, gradient, peakInFlight);
    }
    if (this.shortRtt > threshold) {
      if (!knee.falling) knee.at = estimate;
      knee.falling = true;
      const rebased = this.batchShrinks.shrank(windowMean, estimate);
      if (rebased !== undefined) {
        this.batchBaseline = rebased;
        return estimate;
      }
      const capacity = estimate * clamp(baseline / this.shortRtt, minGradient, 1);
      return estimate + this.smoothing * (capacity - estimate);
    }
    knee.falling = false;
    this.batchShrinks.reset();
    if (windowMean > threshold) knee.at = Math.min(knee.at, estimate);
    // Past the last knee by its allowance with latency still in tolerance: the upstream has grown.
    if (estimate > knee.at + Math.sqrt(knee.at)) knee.at = Infinity;
    if (estimate + 1 >= knee.at) return estimate + nearKneeStep;
    return estimate + this.smoothing * Math.sqrt(estimate);
  }

  /** No request of the window was sent with half the limit in flight: the limit is not being tested. */
  private appLimited(estimate: number, peakInFlight: number): boolean {
    return Number.isFinite(peakInFlight) && peakInFlight < estimate / 2;
  }

  /**
   * An app-limited window: decay toward twice what the traffic used (never grow), slowly, so a lull does
   * not leave the next burst with a limit the upstream was never shown.
   */
  private decayed(estimate: number, gradient: number, peakInFlight: number): number {
    const used = Math.max(this.min, 2 * peakInFlight);
    const target = gradient < 1 ? Math.min(used, estimate * gradient) : used;
    return target < estimate ? estimate + decay * (target - estimate) : estimate;
  }

  /** The upstream said it is overloaded (429/529/503). Does not free a slot: call release() for that too. */
  onOverload(): void {
    const at = this.now();
    if (at - this.lastBackoffAt < this.shortRtt) return;
    this.lastBackoffAt = at;
    // During a probe the cut applies to the limit it will restore.
    if (this.restoreTo !== undefined) {
      this.restoreTo = Math.max(this.min, this.restoreTo * this.backoff);
      this.restoreBatchTo = Math.max(this.min, this.restoreBatchTo * this.backoff);
    } else {
      this.batchKnee.at = this.batchEstimate;
      this.set(this.estimate * this.backoff, this.batchEstimate * this.backoff);
    }
  }

  /** A request ended without a TTFT (error, cancel, overload): frees its slot. */
  release(): void {
    // Never below zero, so an extra release (a caller bug) cannot raise the effective limit.
    if (this.active > 0) this.active--;
  }

  /** Sets the limit and, when given, the batch limit (kept ≤ the limit); onChange when either moves. */
  private set(next: number, nextBatch = this.batchEstimate): void {
    this.estimate = clamp(Number.isFinite(next) ? next : this.estimate, this.min, this.max);
    this.batchEstimate = clamp(
      Number.isFinite(nextBatch) ? nextBatch : this.batchEstimate,
      this.min,
      this.estimate,
    );
    const limit = Math.floor(this.estimate);
    const batchLimit = Math.floor(this.batchEstimate);
    if (limit === this.current && batchLimit === this.batchCurrent) return;
    this.current = limit;
    this.batchCurrent = batchLimit;
    this.onChange?.(limit);
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function finiteOr(value: number, fallback: number): number {
  return Number.isFinite(value) ? value : fallback;
}
