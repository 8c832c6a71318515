// The seeded random numbers behind a random style, identical in the page and on the server
// (backend/seeded.py). A seed (0 .. 2**64 - 1) drives SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): the
// state advances by 0x9E3779B97F4A7C15 and each output is the state mixed by two xor-shift-multiply rounds,
// modulo 2**64 (BigInt, since a Number holds only 53 bits). An output z becomes the uniform
// (z >> 11) * 2**-53 in [0, 1); standard normals come from pairs of uniforms by Box-Muller:
// r = sqrt(-2 ln(1 - u1)), n0 = r cos(2 pi u2), n1 = r sin(2 pi u2).

export const MAX_SEED = (1n << 64n) - 1n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;
const MIX_1 = 0xbf58476d1ce4e5b9n;
const MIX_2 = 0x94d049bb133111ebn;
const UNIT = 2 ** -53;

function checkedSeed(seed) {
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`seed must be an integer between 0 and ${MAX_SEED} (a BigInt above 2**53), got ${seed}`);
    }
    return BigInt(seed);
  }
  if (typeof seed !== "bigint" || seed < 0n || seed > MAX_SEED) {
    throw new RangeError(`seed must be an integer between 0 and ${MAX_SEED}, got ${String(seed)}`);
  }
  return seed;
}

function checkedCount(n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  return n;
}

/** The endless SplitMix64 stream of 64-bit outputs (BigInt) for a seed (checked now, not at the first draw). */
export function splitMix64(seed) {
  return outputs(checkedSeed(seed));
}

function* outputs(seed) {
  let state = seed;
  for (;;) {
    state = BigInt.asUintN(64, state + GOLDEN_GAMMA);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * MIX_1);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * MIX_2);
    yield z ^ (z >> 31n);
  }
}

/** The first n uniforms in [0, 1) of a seed (bigint or safe integer), as a Float64Array. */
export function uniforms(seed, n) {
  const count = checkedCount(n);
  const stream = splitMix64(seed);
  const values = new Float64Array(count);
  // z >> 11 has 53 bits, so Number() converts it exactly.
  for (let i = 0; i < count; i += 1) values[i] = Number(stream.next().value >> 11n) * UNIT;
  return values;
}

/** The first n standard normals of a seed, as a Float64Array (Box-Muller on pairs of its uniforms). */
export function standardNormals(seed, n) {
  const count = checkedCount(n);
  const pairs = uniforms(seed, 2 * Math.ceil(count / 2));
  const normals = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    // 1 - u1 lies in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - pairs[i]));
    const angle = 2 * Math.PI * pairs[i + 1];
    normals[i] = radius * Math.cos(angle);
    if (i + 1 < count) normals[i + 1] = radius * Math.sin(angle);
  }
  return normals;
}
