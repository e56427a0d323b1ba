// Number formatting in the book's currency. Pure: the locale and the currency are arguments.

export interface Formatters {
  readonly currency: string;
  /** An amount without decimals: "$24,666". */
  money(x: number | null | undefined): string;
  /** An amount with cents: "$125.67" (prices). */
  price(x: number | null | undefined): string;
  /** A signed amount: "+$1,234", "−$1,234". */
  signed(x: number | null | undefined): string;
  /** A short amount for chart axes: "$25K". */
  compact(x: number | null | undefined): string;
  /** A ratio as a percentage: 0.0123 -> "1.23%". */
  percent(x: number | null | undefined, digits?: number): string;
  /** A signed ratio: 0.0123 -> "+1.23%". */
  move(x: number | null | undefined, digits?: number): string;
  /** A plain number: 1234.5 -> "1,234.5". */
  number(x: number | null | undefined, digits?: number): string;
}

export const MISSING = "–";

function finite(x: number | null | undefined): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

/** A currency formatter, or a plain one followed by the code when the code is not a currency
 * the runtime knows (an unknown code is shown, never fatal). */
function currencyFormat(
  locale: string | undefined,
  currency: string,
  options: Intl.NumberFormatOptions,
): (x: number) => string {
  try {
    const f = new Intl.NumberFormat(locale, { style: "currency", currency, ...options });
    return (x) => f.format(x);
  } catch {
    const f = new Intl.NumberFormat(locale, options);
    return (x) => `${f.format(x)} ${currency}`;
  }
}

export function makeFormatters(currency: string, locale?: string): Formatters {
  const code = (currency || "USD").toUpperCase();
  const whole = currencyFormat(locale, code, { maximumFractionDigits: 0, minimumFractionDigits: 0 });
  const cents = currencyFormat(locale, code, { maximumFractionDigits: 2, minimumFractionDigits: 2 });
  const signed = currencyFormat(locale, code, {
    maximumFractionDigits: 0,
    minimumFractionDigits: 0,
    signDisplay: "exceptZero",
  });
  const compact = currencyFormat(locale, code, { notation: "compact", maximumFractionDigits: 1 });
  const wrap =
    (f: (x: number) => string) =>
    (x: number | null | undefined): string =>
      finite(x) ? f(x === 0 ? 0 : x) : MISSING;
  return {
    currency: code,
    money: wrap(whole),
    price: wrap(cents),
    signed: wrap(signed),
    compact: wrap(compact),
    percent: (x, digits = 2) =>
      finite(x)
        ? new Intl.NumberFormat(locale, {
            style: "percent",
            minimumFractionDigits: digits,
            maximumFractionDigits: digits,
          }).format(x)
        : MISSING,
    move: (x, digits = 2) =>
      finite(x)
        ? new Intl.NumberFormat(locale, {
            style: "percent",
            minimumFractionDigits: digits,
            maximumFractionDigits: digits,
            signDisplay: "exceptZero",
          }).format(x)
        : MISSING,
    number: (x, digits = 0) =>
      finite(x) ? new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(x) : MISSING,
  };
}

/** A confidence as people say it: 0.99 -> "99%", 0.975 -> "97.5%". */
export function confidenceLabel(c: number): string {
  const pct = Math.round(c * 1e6) / 1e4;
  return `${pct}%`;
}

/** A p-value: "0.146", "<0.001". */
export function pValue(p: number | null | undefined): string {
  if (!finite(p)) return MISSING;
  if (p < 0.001) return "<0.001";
  return p.toFixed(3);
}

/** An ISO timestamp as a UTC clock time: "16:31:24 UTC"; an ISO date is shown as it is. */
export function clockTime(iso: string | null | undefined): string {
  if (!iso) return MISSING;
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return `${t.toISOString().slice(11, 19)} UTC`;
}
