/**
 * Budget periods, in UTC: which period an instant falls in (its id, part of the counter's key, so a new
 * period starts from zero without any reset job) and when that period ends (when its counter may expire).
 *
 * - daily: 00:00 UTC to 00:00 UTC.
 * - weekly: ISO weeks, Monday 00:00 UTC to the next Monday.
 * - monthly: the calendar month.
 * - total: one period for ever.
 */
export type BudgetPeriod = 'daily' | 'weekly' | 'monthly' | 'total';

export interface PeriodWindow {
  /** e.g. `d2026-12-01`, `w2026-11-30` (the week's Monday), `m2026-12`, `total`. */
  id: string;
  /** Epoch ms of the period's end; Infinity for `total`. */
  endsAt: number;
}

const day = 86_400_000;

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function periodAt(period: BudgetPeriod, now: number): PeriodWindow {
  switch (period) {
    case 'daily': {
      const start = Math.floor(now / day) * day;
      return { id: `d${isoDate(start)}`, endsAt: start + day };
    }
    case 'weekly': {
      const today = Math.floor(now / day) * day;
      // getUTCDay: 0 Sunday .. 6 Saturday; ISO weeks start on Monday.
      const sinceMonday = (new Date(today).getUTCDay() + 6) % 7;
      const start = today - sinceMonday * day;
      return { id: `w${isoDate(start)}`, endsAt: start + 7 * day };
    }
    case 'monthly': {
      const d = new Date(now);
      const y = d.getUTCFullYear();
      const m = d.getUTCMonth();
      return { id: `m${y}-${String(m + 1).padStart(2, '0')}`, endsAt: Date.UTC(y, m + 1, 1) };
    }
    case 'total':
      return { id: 'total', endsAt: Number.POSITIVE_INFINITY };
  }
}
