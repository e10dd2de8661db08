// Independent oracles for the property tests: BigInt arithmetic on digit strings and on the
// exact binary value of a double, sharing no code with src/.

const strict_decimal = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

// Minor units of a decimal text by BigInt, or undefined where the text is not exact in the
// currency (grammar, non-zero excess decimals).
export function referenceMinor(text: string, exponent: number): bigint | undefined {
  const match = strict_decimal.exec(text);
  if (match === null) return undefined;
  const [, sign = '', whole = '', fraction = ''] = match;
  const scale = 10n ** BigInt(exponent);
  const fraction_value = fraction === '' ? 0n : BigInt(fraction);
  const fraction_scale = 10n ** BigInt(fraction.length);
  // Exact only when fraction / 10^len is a whole number of minor units.
  if ((fraction_value * scale) % fraction_scale !== 0n) return undefined;
  const magnitude = BigInt(whole) * scale + (fraction_value * scale) / fraction_scale;
  return sign === '-' ? -magnitude : magnitude;
}

// The sum of decimal texts, exactly, as decimal text at the widest scale among them.
export function referenceSumText(texts: readonly string[]): string {
  const scale = Math.max(0, ...texts.map((text) => text.split('.')[1]?.length ?? 0));
  let total = 0n;
  for (const text of texts) {
    const [whole = '', fraction = ''] = text.split('.');
    total += BigInt(`${whole}${fraction.padEnd(scale, '0')}`);
  }
  const digits = total.toString().padStart(scale + 1, '0');
  return scale === 0
    ? digits
    : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
}

// The exact value of a finite double as numerator / denominator (a power of two).
export function exactDouble(value: number): { readonly num: bigint; readonly den: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n === 1n ? -1n : 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const power = (biased === 0 ? 1 : biased) - 1075;
  return power >= 0
    ? { num: sign * (mantissa << BigInt(power)), den: 1n }
    : { num: sign * mantissa, den: 1n << BigInt(-power) };
}
