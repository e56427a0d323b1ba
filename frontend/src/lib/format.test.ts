import { describe, expect, it } from "vitest";
import { clockTime, confidenceLabel, makeFormatters, MISSING, pValue } from "./format";

describe("number formatting in the book's currency", () => {
  const usd = makeFormatters("USD", "en-US");

  it("formats amounts without decimals, prices with cents", () => {
    expect(usd.money(24665.818)).toBe("$24,666");
    expect(usd.money(-1234.4)).toBe("-$1,234");
    expect(usd.price(125.674)).toBe("$125.67");
  });

  it("signs moves and P&L, and never shows -0", () => {
    expect(usd.signed(1234.4)).toBe("+$1,234");
    expect(usd.signed(-1234.6)).toBe("-$1,235");
    expect(usd.signed(-0)).toBe("$0");
    expect(usd.money(-0)).toBe("$0");
    expect(usd.move(0.0344)).toBe("+3.44%");
    expect(usd.move(-0.0739)).toBe("-7.39%");
    expect(usd.percent(1.8885, 0)).toBe("189%");
  });

  it("shortens axis amounts", () => {
    expect(usd.compact(24665)).toBe("$24.7K");
    expect(usd.compact(-1_500_000)).toBe("-$1.5M");
  });

  it("uses the book's currency and the reader's locale", () => {
    const eur = makeFormatters("eur", "de-DE");
    expect(eur.currency).toBe("EUR");
    expect(eur.money(1234567.8).replace(/\s/g, " ")).toBe("1.234.568 €");
    expect(makeFormatters("JPY", "en-US").money(1500)).toBe("¥1,500");
    expect(makeFormatters("GBP", "en-GB").price(2.5)).toBe("£2.50");
  });

  it("shows an unknown currency code instead of failing", () => {
    const odd = makeFormatters("US1", "en-US");
    expect(odd.money(1234)).toBe("1,234 US1");
  });

  it("shows a dash for missing numbers", () => {
    for (const f of [usd.money, usd.price, usd.signed, usd.compact, usd.percent, usd.move, usd.number]) {
      expect(f(null)).toBe(MISSING);
      expect(f(undefined)).toBe(MISSING);
      expect(f(Number.NaN)).toBe(MISSING);
    }
  });

  it("labels confidences, p-values and times", () => {
    expect(confidenceLabel(0.99)).toBe("99%");
    expect(confidenceLabel(0.975)).toBe("97.5%");
    expect(confidenceLabel(0.95)).toBe("95%");
    expect(pValue(0.14595)).toBe("0.146");
    expect(pValue(0.00048)).toBe("<0.001");
    expect(pValue(null)).toBe(MISSING);
    expect(clockTime("2026-11-26T16:31:24.884984+00:00")).toBe("16:31:24 UTC");
    expect(clockTime("2022-12-28")).toBe("2022-12-28");
    expect(clockTime(null)).toBe(MISSING);
  });
});
